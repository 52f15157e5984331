/**
 * Reads a QR code with the camera (getUserMedia, frames decoded by jsQR) or from a picture of it. Calls
 * onScan once with the decoded text.
 */
import jsQR from 'jsqr';
import { useEffect, useRef, useState } from 'react';
import { ErrorNotice } from './components.tsx';

function decode(image: CanvasImageSource, width: number, height: number, canvas: HTMLCanvasElement): string | undefined {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(image, 0, 0, width, height);
  const data = ctx.getImageData(0, 0, width, height);
  return jsQR(data.data, width, height)?.data;
}

export function QrScanner({ onScan, label }: { onScan: (text: string) => void; label: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const canvas = useRef<HTMLCanvasElement>(document.createElement('canvas'));
  const [scanning, setScanning] = useState(false);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    if (!scanning) return;
    let stream: MediaStream | undefined;
    let timer: number | undefined;
    let done = false;
    (async () => {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      const v = video.current!;
      v.srcObject = stream;
      await v.play();
      const tick = () => {
        if (done) return;
        if (v.videoWidth > 0) {
          const text = decode(v, v.videoWidth, v.videoHeight, canvas.current);
          if (text) {
            done = true;
            setScanning(false);
            onScan(text);
            return;
          }
        }
        timer = window.setTimeout(tick, 150);
      };
      tick();
    })().catch((e: unknown) => {
      setError(new Error(`The camera could not be used (${(e as Error).message}). Choose a picture of the code, or type it.`));
      setScanning(false);
    });
    return () => {
      done = true;
      window.clearTimeout(timer);
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, [scanning, onScan]);

  const fromFile = async (file: File) => {
    setError(undefined);
    const bitmap = await createImageBitmap(file);
    const text = decode(bitmap, bitmap.width, bitmap.height, canvas.current);
    if (text) onScan(text);
    else setError(new Error('No QR code was found in that picture.'));
  };

  return (
    <div className="stack">
      <div className="row">
        <button type="button" className="secondary" onClick={() => setScanning((s) => !s)}>
          {scanning ? 'Stop the camera' : `Scan ${label} with the camera`}
        </button>
        <div className="field">
          <label htmlFor="qr-file">Or choose a picture of {label}</label>
          <input id="qr-file" type="file" accept="image/*" onChange={(e) => e.target.files?.[0] && void fromFile(e.target.files[0])} />
        </div>
      </div>
      {scanning && <video ref={video} muted playsInline style={{ maxWidth: '100%', width: '20rem' }} aria-label="Camera preview" />}
      <ErrorNotice error={error} />
    </div>
  );
}

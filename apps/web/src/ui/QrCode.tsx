/** Shows text as a QR code (SVG from the `qrcode` package), with the text itself described for screen readers. */
import { toString } from 'qrcode';
import { useEffect, useState } from 'react';

export function QrCode({ value, label }: { value: string; label: string }) {
  const [svg, setSvg] = useState('');
  useEffect(() => {
    let live = true;
    void toString(value, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }).then((s) => live && setSvg(s));
    return () => {
      live = false;
    };
  }, [value]);
  return <div className="qr" role="img" aria-label={label} data-qr={value} dangerouslySetInnerHTML={{ __html: svg }} />;
}

/** The small accessible design system: every page is built from these. */
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { humanMessage } from './errors.ts';

export function Page({ title, children }: { title: string; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Doublelock`;
  }, [title]);
  return (
    <>
      <h1 tabIndex={-1}>{title}</h1>
      {children}
    </>
  );
}

export function Card({ title, children, level = 2 }: { title?: string; children: ReactNode; level?: 2 | 3 }) {
  const H = level === 2 ? 'h2' : 'h3';
  return (
    <section className="card" aria-label={title}>
      {title && <H style={{ marginTop: 0 }}>{title}</H>}
      {children}
    </section>
  );
}

/** A failure, read out by screen readers as soon as it appears. */
export function ErrorNotice({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <div className="alert error" role="alert">
      {humanMessage(error)}
    </div>
  );
}

export function Notice({ kind = 'ok', title, children }: { kind?: 'ok' | 'warning' | 'error'; title?: string; children: ReactNode }) {
  return (
    <div className={`alert ${kind}`} role={kind === 'ok' ? 'status' : 'alert'}>
      {title && <strong>{title}</strong>}
      {children}
    </div>
  );
}

export function Field(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  hint?: string;
  type?: string;
  required?: boolean;
  multiline?: boolean;
  autoComplete?: string;
  name?: string;
  inputMode?: 'text' | 'numeric';
  /** Multiline only: Enter does this (Shift+Enter still starts a new line), as messengers do. */
  onEnter?: () => void;
}) {
  const id = useId();
  const hintId = props.hint ? `${id}-hint` : undefined;
  const common = { id, value: props.value, required: props.required, name: props.name, 'aria-describedby': hintId };
  return (
    <div className="field">
      <label htmlFor={id}>
        {props.label} {props.hint && <span id={hintId} className="hint">{props.hint}</span>}
      </label>
      {props.multiline ? (
        <textarea
          {...common}
          rows={3}
          onChange={(e) => props.onChange(e.target.value)}
          onKeyDown={(e) => {
            if (props.onEnter && e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              props.onEnter();
            }
          }}
        />
      ) : (
        <input {...common} type={props.type ?? 'text'} autoComplete={props.autoComplete ?? 'off'} inputMode={props.inputMode} onChange={(e) => props.onChange(e.target.value)} />
      )}
    </div>
  );
}

/** Runs an async action with a busy state and the failure shown beside the form. */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [data, setData] = useState<R>();
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => void (mounted.current = false);
  }, []);
  const run = async (...args: A): Promise<R | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await fn(...args);
      if (mounted.current) setData(result);
      return result;
    } catch (e) {
      if (mounted.current) setError(e);
      return undefined;
    } finally {
      if (mounted.current) setBusy(false);
    }
  };
  return { run, busy, error, setError, data };
}

/** Loads data on mount (and when deps change), with loading and failure states. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="muted">
      Loading {what}…
    </p>
  );
}

/** A determinate progress bar with its figures spelled out for screen readers. */
export function Progress({ label, value, max }: { label: string; value: number; max: number }) {
  return (
    <div>
      <label>
        {label}: {value} of {max}
        <progress value={value} max={max} style={{ width: '100%' }} />
      </label>
    </div>
  );
}

/** Documents the authorities pass by hand: a file input, and a parse that says what is wrong with a file. */
export function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`This is not ${what}: ${r.error.issues.map((i) => `${i.path.join('.') || 'document'} ${i.message}`).join('; ')}`);
  return r.data;
}

export function FileInput({ label, onFile }: { label: string; onFile: (file: File) => void }) {
  const id = `file-${label.replace(/\W+/g, '-')}`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} type="file" accept=".json,application/json" onChange={(e) => e.target.files?.[0] && onFile(e.target.files[0])} />
    </div>
  );
}

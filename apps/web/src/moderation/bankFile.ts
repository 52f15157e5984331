/**
 * A bank file cut into pieces the server takes one at a time (POST /v1/moderation/banks/:name/import), so
 * the console can show how far an import has got. Pieces end at record ends: CSV records may hold quoted
 * line breaks, so a line ends a record only outside quotes, and every CSV piece starts with the file's
 * header line. TXT and JSON Lines are one record a line; a JSON document is one piece (it cannot be cut).
 */
export type BankFileFormat = 'csv' | 'json' | 'txt';

export function formatOf(fileName: string): BankFileFormat | undefined {
  const m = /\.(csv|json|jsonl|txt)$/i.exec(fileName);
  if (!m) return undefined;
  const ext = m[1]!.toLowerCase();
  return ext === 'jsonl' ? 'json' : (ext as BankFileFormat);
}

/** Records (with their line ends) of a text: CSV-aware when `csv` (a quote toggles "inside a field"). */
function records(text: string, csv: boolean): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (csv && c === 34) quoted = !quoted;
    else if (c === 10 && !quoted) {
      out.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

function isJsonDocument(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false; // JSON Lines, or not JSON at all (the server says which line)
  }
}

export interface BankFilePiece {
  text: string;
  /** add to a line number the server reports for this piece to get the line in the whole file */
  lineOffset: number;
}

export function bankFilePieces(text: string, format: BankFileFormat, pieceChars: number): BankFilePiece[] {
  if (format === 'json' && isJsonDocument(text)) {
    if (text.length > pieceChars) throw new Error(`This JSON document is ${Math.ceil(text.length / 1e6)} MB; one piece can be ${pieceChars / 1e6} MB. Use JSON Lines (one signal a line) or CSV for large files.`);
    return [{ text, lineOffset: 0 }];
  }
  const csv = format === 'csv';
  const all = records(text, csv);
  const header = csv ? (all.shift() ?? '') : '';
  if (csv && !header.trim()) throw new Error('The CSV file is empty.');
  const lines = (s: string) => s.split('\n').length - (s.endsWith('\n') ? 1 : 0);
  const pieces: BankFilePiece[] = [];
  // line of the file where the current piece's first record starts (the header is line 1)
  let first = csv ? 2 : 1;
  let next = first;
  let current = header;
  const close = () => {
    pieces.push({ text: current, lineOffset: first - (csv ? 2 : 1) });
    current = header;
    first = next;
  };
  for (const r of all) {
    if (r.length + header.length > pieceChars) throw new Error(`A record of ${r.length} characters is longer than a piece can be.`);
    if (current.length + r.length > pieceChars) close();
    current += r;
    next += lines(r);
  }
  if (current.length > header.length || pieces.length === 0) close();
  return pieces;
}

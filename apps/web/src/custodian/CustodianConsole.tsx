import { Page } from '../ui/components.tsx';
export default function CustodianConsole() {
  return <Page title="Custodians"><p>Loading…</p></Page>;
}

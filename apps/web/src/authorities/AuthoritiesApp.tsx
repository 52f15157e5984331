import { Page } from '../ui/components.tsx';
export default function AuthoritiesApp() {
  return <Page title="Authorities"><p>Loading…</p></Page>;
}

/**
 * The web app's shell: routes, each feature folder loaded only when its page is opened (so the public
 * transparency page never downloads the messenger's MLS code), a skip link and a focus move on navigation.
 */
import { lazy, StrictMode, Suspense, useEffect, useRef, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { Link, Route, Switch, useLocation } from 'wouter';
import { Loading, Page } from './ui/components.tsx';
import './ui/styles.css';

const Messenger = lazy(() => import('./messenger/MessengerApp.tsx'));
const Transparency = lazy(() => import('./transparency/TransparencyPage.tsx'));
const Channels = lazy(() => import('./channels/ChannelsApp.tsx'));
const Moderation = lazy(() => import('./moderation/ModerationApp.tsx'));
const Authorities = lazy(() => import('./authorities/AuthoritiesApp.tsx'));

const SECTIONS = [
  { href: '/chats', label: 'Messenger' },
  { href: '/channels', label: 'Channels' },
  { href: '/transparency', label: 'Transparency' },
  { href: '/moderation', label: 'Moderation' },
  { href: '/authorities', label: 'Authorities' },
];

function Shell({ children }: { children: ReactNode }) {
  const [location] = useLocation();
  const previous = useRef(location);
  useEffect(() => {
    if (previous.current === location) return;
    previous.current = location;
    // After navigation, move focus to the new page's heading so keyboard and screen-reader users start there.
    const h1 = document.querySelector<HTMLElement>('main h1');
    if (h1 && document.activeElement === document.body) h1.focus({ preventScroll: true });
  }, [location]);
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link href="/" className="brand">Doublelock</Link>
        <nav aria-label="Sections">
          <ul>
            {SECTIONS.map((s) => (
              <li key={s.href}>
                <Link href={s.href} aria-current={location.startsWith(s.href) ? 'page' : undefined}>{s.label}</Link>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main">
        <Suspense fallback={<Loading what="the page" />}>{children}</Suspense>
      </main>
    </>
  );
}

function Home() {
  return (
    <Page title="Doublelock">
      <p>Private by default, accountable when the law requires it.</p>
      <ul>
        <li><Link href="/chats">Messenger</Link>: end-to-end encrypted chats. Your keys never leave this browser.</li>
        <li><Link href="/channels">Channels</Link>: public channels, moderated against known terrorist content.</li>
        <li><Link href="/transparency">Transparency</Link>: check the public log yourself, and see warrants and decryptions per month.</li>
        <li><Link href="/moderation">Moderation</Link>: the queue, cases and appeals (moderators only).</li>
        <li><Link href="/authorities">Authorities</Link>: the agency, the Secretary of State and the Judicial Commissioner.</li>
      </ul>
    </Page>
  );
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>There is no page here. <Link href="/">Go to the start page</Link>.</p>
    </Page>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Shell>
      <Switch>
        <Route path="/" component={Home} />
        <Route path="/chats" nest><Messenger /></Route>
        <Route path="/channels" nest><Channels /></Route>
        <Route path="/transparency" component={Transparency} />
        <Route path="/moderation" nest><Moderation /></Route>
        <Route path="/authorities" nest><Authorities /></Route>
        <Route component={NotFound} />
      </Switch>
    </Shell>
  </StrictMode>,
);

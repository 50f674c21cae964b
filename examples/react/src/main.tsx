// Entry of the React example: reads the mock's address and the dialect, then renders <App>.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';

const dialect = new URLSearchParams(location.search).get('dialect') ?? 'native';
const config: { mockBase: string } = await (await fetch('/config.json')).json();
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App mockBase={config.mockBase} dialect={dialect} />
  </StrictMode>,
);

// Importing by dropping a file onto the window, and the first-run hint: what is sent to the helper
// (the file's text, never a path), and what a person sees when a file is no config.
import { act, cleanup, createEvent, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_CONFIG_BYTES } from '../../api.js';
import { CONF, flush, mockApi, renderWith, SERVERS } from '../../test/support.js';
import { ServerList } from '../server-picker/ServerList.js';
import { DropZone } from './DropZone.js';

afterEach(cleanup);

/** A drag event on the window carrying `files` (jsdom has no DataTransfer: a stand-in with what the page reads). */
function drag(type: 'dragEnter' | 'dragOver' | 'dragLeave' | 'drop', files: File[]) {
  const dataTransfer = { types: ['Files'], files, items: files.map((f) => ({ kind: 'file', type: f.type })), dropEffect: 'none' };
  const event = createEvent[type](window, { dataTransfer });
  fireEvent(window, event);
  return event;
}

async function render(servers = SERVERS) {
  const m = mockApi({ servers });
  const r = renderWith(
    <>
      <DropZone />
      <ServerList />
    </>,
    m.api,
  );
  await act(flush);
  return { ...r, m };
}

describe('dropping a file onto the window', () => {
  it('shows what a drop will do while a file is over the window, and goes when it leaves', async () => {
    await render();
    const conf = new File([CONF], 'office.conf', { type: 'text/plain' });
    const enter = drag('dragEnter', [conf]);
    expect(enter.defaultPrevented).toBe(true);
    expect(screen.getByText('Drop to import this WireGuard config')).toBeTruthy();
    // Kept from the browser, which would otherwise open the file in place of the app.
    expect(drag('dragOver', [conf]).defaultPrevented).toBe(true);
    drag('dragLeave', [conf]);
    expect(screen.queryByText('Drop to import this WireGuard config')).toBeNull();
    drag('dragEnter', [new File(['x'], 'code.png', { type: 'image/png' })]);
    expect(screen.getByText('Drop to import the WireGuard config in this QR code')).toBeTruthy();
  });

  it('a dropped .conf is imported by its text and named after the file; the note says it is selected', async () => {
    const { m, store } = await render();
    drag('dragEnter', []);
    const drop = drag('drop', [new File([CONF], 'office.conf', { type: 'text/plain' })]);
    expect(drop.defaultPrevented).toBe(true);
    expect(screen.queryByText('Drop to import this WireGuard config')).toBeNull();
    await waitFor(() => expect(m.pending.some((p) => p.method === 'importConfig')).toBe(true));
    const call = m.take('importConfig');
    expect(call.params).toEqual({ text: CONF, name: 'office' });
    const imported = { ...SERVERS[7]!, id: 'office', name: 'office' };
    act(() => m.emit({ type: 'servers', servers: [...SERVERS, imported] }));
    await act(async () => call.resolve({ server: imported, notes: [] }));
    expect(screen.getByRole('status').textContent).toBe('Imported “office” and selected it. Press Connect to use it.');
    expect(store.getState().selectedId).toBe('office');
  });

  it('a file too large for a config is refused before anything is sent, and nothing changes', async () => {
    const { m, store } = await render();
    store.getState().select('se-sto-1');
    drag('drop', [new File(['#'.repeat(MAX_CONFIG_BYTES + 1)], 'huge.conf', { type: 'text/plain' })]);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('This config was not imported: “huge.conf” is 65 KiB; a WireGuard config is at most 64 KiB: is it the right file?');
    expect(m.pending).toEqual([]);
    expect(store.getState().servers).toEqual(SERVERS);
    expect(store.getState().selectedId).toBe('se-sto-1');
  });

  it('a binary file, a picture that cannot be read, or several files at once: each says why, nothing is sent', async () => {
    const { m } = await render();
    drag('drop', [new File([new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1])], 'umbra', { type: 'application/octet-stream' })]);
    expect((await screen.findByRole('alert')).textContent).toMatch(/“umbra” is not a text file/);
    // jsdom decodes no images: the same words a person gets for a broken picture.
    drag('drop', [new File([new Uint8Array([1, 2, 3])], 'code.png', { type: 'image/png' })]);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toMatch(/“code.png” could not be read as a picture/));
    drag('drop', [new File([CONF], 'a.conf'), new File([CONF], 'b.conf')]);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toMatch(/2 files were dropped: drop one config or QR code image at a time/));
    expect(m.pending).toEqual([]);
  });

  it('the helper’s refusal of a dropped file is shown in its words', async () => {
    const { m } = await render();
    drag('drop', [new File(['hello'], 'notes.conf')]);
    await waitFor(() => expect(m.pending.some((p) => p.method === 'importConfig')).toBe(true));
    await act(async () => m.take('importConfig').reject({ code: -32003, message: 'line 1: expected a [section] or key = value, found "hello"' }));
    expect(screen.getByRole('alert').textContent).toContain('This config was not imported: line 1: expected a [section] or key = value');
  });

  it('drags that carry no file (text, a link) are left to the page', async () => {
    await render();
    const event = createEvent.dragOver(window, { dataTransfer: { types: ['text/plain'], files: [], items: [] } });
    fireEvent(window, event);
    expect(event.defaultPrevented).toBe(false);
    expect(screen.queryByText(/Drop to import/)).toBeNull();
  });
});

describe('first run, with no server', () => {
  it('says how to add one, with the import right there', async () => {
    const { m } = await render([]);
    const panel = screen.getByRole('region', { name: 'Add your first server' });
    expect(panel.textContent).toMatch(/Import the WireGuard \.conf file your VPN provider gave you/);
    expect(panel.textContent).toMatch(/drop that file, or a QR code image of it, anywhere on this window/);
    expect(panel.textContent).toMatch(/catalog of servers in Settings/);
    const input = screen.getByLabelText('Import a .conf file or QR code image') as HTMLInputElement;
    expect(input.type).toBe('file');
    expect(input.accept).toContain('image/png');
    fireEvent.change(input, { target: { files: [new File([CONF], 'home.conf')] } });
    await waitFor(() => expect(m.pending.some((p) => p.method === 'importConfig')).toBe(true));
    expect(m.take('importConfig').params).toEqual({ text: CONF, name: 'home' });
  });

  it('a drop with the first-run panel on screen reports there, and in the corner once the panel goes', async () => {
    const { m } = await render([]);
    drag('drop', [new File([CONF], 'home.conf')]);
    await waitFor(() => expect(m.pending.some((p) => p.method === 'importConfig')).toBe(true));
    const imported = { ...SERVERS[7]!, id: 'home', name: 'home' };
    await act(async () => m.take('importConfig').resolve({ server: imported, notes: [] }));
    expect(screen.getAllByText(/Imported “home” and selected it/)).toHaveLength(1);
    expect(screen.queryByRole('complementary', { name: 'Import' })).toBeNull();
    // The helper lists the new server: the panel goes, and the outcome moves to the corner note, once.
    act(() => m.emit({ type: 'servers', servers: [imported] }));
    expect(screen.queryByRole('region', { name: 'Add your first server' })).toBeNull();
    const note = screen.getByRole('complementary', { name: 'Import' });
    expect(screen.getAllByText(/Imported “home” and selected it/).map((el) => note.contains(el))).toEqual([true]);
    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('complementary', { name: 'Import' })).toBeNull();
  });

  it('is gone once there is a server', async () => {
    await render();
    expect(screen.queryByRole('region', { name: 'Add your first server' })).toBeNull();
  });
});

// The blog's rich-text editor: progressive enhancement of a plain form.
//
// For every <form data-editor> on the page it finds <textarea name="html"> and a hidden
// <input name="doc">, hides the textarea and mounts a Tiptap editor in its place, initialised
// from the textarea's HTML. On every change it writes editor.getHTML() into the textarea and
// JSON.stringify(editor.getJSON()) into the doc input, so the form posts both. Without JavaScript
// the textarea keeps working on its own.
//
// The page's CSP is script-src 'self' (and styles come from /static/editor.css), so this file adds
// no inline scripts and Tiptap's own <style> injection is switched off (injectCSS: false).

import { Editor } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import Link from '@tiptap/extension-link';
import Image from '@tiptap/extension-image';

// safeURL reports whether url may be used as a link or image address: http(s) or relative only.
// Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:"), so
// they are removed before the scheme is read.
function safeURL(url) {
  if (typeof url !== 'string') return false;
  const cleaned = url.replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
  if (cleaned === '') return false;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(cleaned);
  if (!scheme) return true; // relative: /path, ./path, #frag, ?q, //host (inherits http(s))
  const s = scheme[1].toLowerCase();
  return s === 'http' || s === 'https';
}

const WIDGET_TYPE = /^[a-z0-9][a-z0-9-]*$/;
const WIDGET_ID = /^[A-Za-z0-9_-]+$/;

// Image types the media endpoint accepts; the file picker offers only these.
const IMAGE_TYPES = 'image/jpeg,image/png,image/gif,image/webp';

// Toolbar buttons. `active` (for toggles) sets aria-pressed; `enabled` sets disabled. `run` is
// called with the editor and the button that was clicked.
const BUTTONS = [
  { label: 'Bold', text: 'B', run: (e) => e.chain().focus().toggleBold().run(), active: (e) => e.isActive('bold') },
  { label: 'Italic', text: 'I', run: (e) => e.chain().focus().toggleItalic().run(), active: (e) => e.isActive('italic') },
  { label: 'Heading 2', text: 'H2', run: (e) => e.chain().focus().toggleHeading({ level: 2 }).run(), active: (e) => e.isActive('heading', { level: 2 }) },
  { label: 'Heading 3', text: 'H3', run: (e) => e.chain().focus().toggleHeading({ level: 3 }).run(), active: (e) => e.isActive('heading', { level: 3 }) },
  { label: 'Bullet list', text: '• List', run: (e) => e.chain().focus().toggleBulletList().run(), active: (e) => e.isActive('bulletList') },
  { label: 'Numbered list', text: '1. List', run: (e) => e.chain().focus().toggleOrderedList().run(), active: (e) => e.isActive('orderedList') },
  { label: 'Quote', text: '“ ”', run: (e) => e.chain().focus().toggleBlockquote().run(), active: (e) => e.isActive('blockquote') },
  { label: 'Code', text: '</>', run: (e) => e.chain().focus().toggleCode().run(), active: (e) => e.isActive('code') },
  { label: 'Code block', text: '{ }', run: (e) => e.chain().focus().toggleCodeBlock().run(), active: (e) => e.isActive('codeBlock') },
  { label: 'Link', text: 'Link', run: promptLink, active: (e) => e.isActive('link') },
  { label: 'Image', text: 'Image', run: uploadImage },
  { label: 'Image URL', text: 'Image URL', run: promptImage },
  { label: 'Widget', text: 'Widget', run: pickWidget },
  { label: 'Undo', text: '↶', run: (e) => e.chain().focus().undo().run(), enabled: (e) => e.can().undo() },
  { label: 'Redo', text: '↷', run: (e) => e.chain().focus().redo().run(), enabled: (e) => e.can().redo() },
];

function promptLink(editor) {
  const current = editor.getAttributes('link').href || '';
  const input = window.prompt('Link address (http://, https:// or a relative path); leave empty to remove the link', current);
  if (input === null) return; // cancelled
  const url = input.trim();
  if (url === '') {
    editor.chain().focus().extendMarkRange('link').unsetLink().run();
    return;
  }
  if (!safeURL(url)) {
    window.alert('Only http://, https:// and relative links are allowed.');
    return;
  }
  if (editor.state.selection.empty && !editor.isActive('link')) {
    editor.chain().focus().insertContent({ type: 'text', text: url, marks: [{ type: 'link', attrs: { href: url } }] }).run();
    return;
  }
  editor.chain().focus().extendMarkRange('link').setLink({ href: url }).run();
}

function promptImage(editor) {
  const input = window.prompt('Image address (http://, https:// or a relative path)', '');
  if (input === null) return;
  const src = input.trim();
  if (src === '') return;
  if (!safeURL(src)) {
    window.alert('Only http://, https:// and relative image addresses are allowed.');
    return;
  }
  insertImage(editor, src);
}

// insertImage asks for alt text and inserts the image at the end of the selection (rather than
// replacing the selected text). Cancelling the alt prompt inserts nothing.
function insertImage(editor, src) {
  const alt = window.prompt('Describe the image for people who cannot see it (alt text)', '');
  if (alt === null) return;
  editor.chain().focus().setTextSelection(editor.state.selection.to).setImage({ src, alt: alt.trim() }).run();
}

// The hidden file input behind each upload button, created on first use.
const filePickers = new WeakMap();

// uploadImage opens a file picker, POSTs the chosen file to /admin/media (multipart field
// "file") and inserts the returned {"url": ...}. An error response is an RFC 9457 problem whose
// detail is shown. The button is disabled and aria-busy while the upload runs.
function uploadImage(editor, button) {
  let picker = filePickers.get(button);
  if (!picker) {
    picker = document.createElement('input');
    picker.type = 'file';
    picker.accept = IMAGE_TYPES;
    picker.hidden = true;
    picker.tabIndex = -1;
    picker.setAttribute('aria-hidden', 'true');
    // No name attribute, so the surrounding form never submits it.
    picker.addEventListener('change', () => {
      const file = picker.files && picker.files[0];
      picker.value = ''; // so choosing the same file again fires change again
      if (file) upload(editor, button, file);
    });
    button.insertAdjacentElement('afterend', picker);
    filePickers.set(button, picker);
  }
  picker.click();
}

async function upload(editor, button, file) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  let src = null;
  let problem = null;
  try {
    const body = new FormData();
    body.append('file', file, file.name);
    const res = await fetch('/admin/media', {
      method: 'POST',
      body,
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    let data = null;
    try {
      data = await res.json();
    } catch (_) {
      data = null;
    }
    if (res.ok && data && typeof data.url === 'string' && safeURL(data.url)) {
      src = data.url;
    } else if (res.ok) {
      problem = 'The upload succeeded but the server did not return a usable image address.';
    } else {
      problem = (data && typeof data.detail === 'string' && data.detail) || `The upload failed (HTTP ${res.status}).`;
    }
  } catch (_) {
    problem = 'The upload failed: the server could not be reached.';
  } finally {
    button.removeAttribute('aria-busy');
    button.disabled = false;
  }
  if (problem !== null) {
    window.alert(problem);
    return;
  }
  insertImage(editor, src);
}

// promptWidget asks for a widget's type and id (an events calendar, say) and inserts it.
function promptWidget(editor) {
  const typeIn = window.prompt('Widget type (for example events-calendar)', '');
  if (typeIn === null) return;
  const type = typeIn.trim();
  if (!WIDGET_TYPE.test(type)) {
    window.alert('A widget type is lower-case letters, digits and hyphens.');
    return;
  }
  const idIn = window.prompt('Widget id', '');
  if (idIn === null) return;
  const id = idIn.trim();
  if (!WIDGET_ID.test(id)) {
    window.alert('A widget id is letters, digits, hyphens and underscores.');
    return;
  }
  insertWidget(editor, type, id);
}

// insertWidget inserts a paragraph [[widget:TYPE:ID]] after the current block; the server
// replaces it with the container widget when the post is rendered.
function insertWidget(editor, type, id) {
  const { $to } = editor.state.selection;
  const pos = $to.depth > 0 ? $to.after(1) : $to.pos;
  editor
    .chain()
    .focus()
    .insertContentAt(pos, { type: 'paragraph', content: [{ type: 'text', text: `[[widget:${type}:${id}]]` }] })
    .run();
}

// The admin endpoint that finds the market's products and markets, the events service's
// calendars and events, and the public newsletter lists, by name: {"products": [{slug, name,
// market}], "markets": [{slug, name}], "calendars": [{slug, name}], "events": [{slug, name, date}],
// "newsletters": [{slug, name}]}.
const PICKER_URL = '/admin/widgets/products';

// The widget picker behind each Widget button, created on first use.
const pickers = new WeakMap();

// pickWidget opens the widget picker: the market's products and markets, the calendars and
// events, and the newsletters found by name, one of which is inserted as its widget
// ([[widget:product-card:<slug>]], [[widget:market:<slug>]], [[widget:events-calendar:<slug>]],
// [[widget:event:<slug>]] or [[widget:newsletter:<slug>]]);
// "Other widget" asks for a type and id instead (promptWidget).
function pickWidget(editor, button) {
  let picker = pickers.get(button);
  if (!picker) {
    picker = widgetPicker(editor, button);
    pickers.set(button, picker);
  }
  picker.open();
}

let pickerCounter = 0;

function widgetPicker(editor, button) {
  pickerCounter += 1;
  const inputID = `editor-picker-${pickerCounter}`;
  const dialog = document.createElement('dialog');
  dialog.className = 'editor-picker';
  dialog.setAttribute('aria-labelledby', `${inputID}-title`);

  const title = document.createElement('h2');
  title.id = `${inputID}-title`;
  title.textContent = 'Insert a product, a market, a calendar, an event or a newsletter';
  const label = document.createElement('label');
  label.htmlFor = inputID;
  label.textContent = 'Name';
  // No name attribute, so the surrounding form never submits it.
  const input = document.createElement('input');
  input.type = 'search';
  input.id = inputID;
  input.autocomplete = 'off';
  input.setAttribute('aria-controls', `${inputID}-results`);
  const status = document.createElement('p');
  status.className = 'editor-picker-status';
  status.setAttribute('role', 'status');
  const list = document.createElement('ul');
  list.id = `${inputID}-results`;
  list.className = 'editor-picker-results';
  const actions = document.createElement('div');
  actions.className = 'editor-picker-actions';
  const other = document.createElement('button');
  other.type = 'button';
  other.className = 'editor-button';
  other.textContent = 'Other widget…';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'editor-button';
  cancel.textContent = 'Cancel';
  actions.append(other, cancel);
  dialog.append(title, label, input, status, list, actions);
  button.insertAdjacentElement('afterend', dialog);

  let found = [];
  let timer = null;
  let seq = 0;

  const choose = (item) => {
    dialog.close();
    insertWidget(editor, item.type, item.slug);
  };

  const render = (items) => {
    found = items;
    list.replaceChildren(
      ...items.map((item) => {
        const li = document.createElement('li');
        const pick = document.createElement('button');
        pick.type = 'button';
        pick.className = 'editor-picker-item';
        const name = document.createElement('span');
        name.textContent = item.text;
        const note = document.createElement('small');
        note.textContent = item.note;
        pick.append(name, ' ', note);
        pick.addEventListener('click', () => choose(item));
        li.append(pick);
        return li;
      }),
    );
  };

  const search = async () => {
    const mine = ++seq;
    status.textContent = 'Searching…';
    let items = [];
    let problem = null;
    try {
      const res = await fetch(`${PICKER_URL}?q=${encodeURIComponent(input.value.trim())}`, {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      });
      let data = null;
      try {
        data = await res.json();
      } catch (_) {
        data = null;
      }
      if (res.ok && data) {
        for (const p of Array.isArray(data.products) ? data.products : []) {
          items.push({ type: 'product-card', slug: p.slug, text: p.name, note: p.market ? `Product, ${p.market}` : 'Product' });
        }
        for (const m of Array.isArray(data.markets) ? data.markets : []) {
          items.push({ type: 'market', slug: m.slug, text: m.name, note: 'Market' });
        }
        for (const c of Array.isArray(data.calendars) ? data.calendars : []) {
          items.push({ type: 'events-calendar', slug: c.slug, text: c.name, note: 'Calendar' });
        }
        for (const e of Array.isArray(data.events) ? data.events : []) {
          items.push({ type: 'event', slug: e.slug, text: e.name, note: e.date ? `Event, ${e.date}` : 'Event' });
        }
        for (const n of Array.isArray(data.newsletters) ? data.newsletters : []) {
          items.push({ type: 'newsletter', slug: n.slug, text: n.name, note: 'Newsletter' });
        }
        items = items.filter((item) => typeof item.slug === 'string' && WIDGET_ID.test(item.slug) && typeof item.text === 'string');
      } else {
        problem = (data && typeof data.detail === 'string' && data.detail) || `The search failed (HTTP ${res.status}).`;
      }
    } catch (_) {
      problem = 'The search failed: the server could not be reached.';
    }
    if (mine !== seq) return; // a later search is under way
    render(items);
    if (problem !== null) status.textContent = problem;
    else if (items.length === 0) status.textContent = 'Nothing matches that name.';
    else status.textContent = `${items.length} found: choose one to insert it.`;
  };

  input.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 200);
  });
  // Enter picks the first result rather than submitting the post's form.
  input.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    if (found.length > 0) choose(found[0]);
  });
  other.addEventListener('click', () => {
    dialog.close();
    promptWidget(editor);
  });
  cancel.addEventListener('click', () => dialog.close());

  return {
    open() {
      input.value = '';
      render([]);
      dialog.showModal();
      input.focus();
      search();
    },
  };
}

function labelFor(textarea) {
  if (textarea.id) {
    const label = textarea.ownerDocument.querySelector(`label[for="${CSS.escape(textarea.id)}"]`);
    if (label && label.textContent.trim()) return label.textContent.trim();
  }
  return textarea.getAttribute('aria-label') || 'Post body';
}

let counter = 0;

function mount(form) {
  const textarea = form.querySelector('textarea[name="html"]');
  const doc = form.querySelector('input[name="doc"]');
  if (!textarea || !doc || form.hasAttribute('data-editor-mounted')) return;
  form.setAttribute('data-editor-mounted', '');
  counter += 1;
  const areaID = `editor-area-${counter}`;
  const label = labelFor(textarea);

  const wrapper = document.createElement('div');
  wrapper.className = 'editor';

  const toolbar = document.createElement('div');
  toolbar.className = 'editor-toolbar';
  toolbar.setAttribute('role', 'toolbar');
  toolbar.setAttribute('aria-label', `${label}: formatting`);
  toolbar.setAttribute('aria-controls', areaID);

  const area = document.createElement('div');
  area.className = 'editor-area';

  wrapper.append(toolbar, area);
  textarea.insertAdjacentElement('afterend', wrapper);

  const editor = new Editor({
    element: area,
    injectCSS: false,
    content: textarea.value,
    extensions: [
      StarterKit.configure({
        heading: { levels: [2, 3, 4] },
        link: false, // configured below
        underline: false,
        strike: false,
      }),
      Link.configure({
        openOnClick: false,
        autolink: true,
        linkOnPaste: true,
        defaultProtocol: 'https',
        protocols: [],
        HTMLAttributes: { rel: 'noopener noreferrer nofollow', target: null },
        isAllowedUri: (url) => safeURL(url),
        shouldAutoLink: (url) => safeURL(url),
      }),
      Image.configure({ inline: false, allowBase64: false }),
    ],
    editorProps: {
      attributes: {
        id: areaID,
        class: 'editor-content',
        role: 'textbox',
        'aria-multiline': 'true',
        'aria-label': label,
      },
    },
  });

  const controls = BUTTONS.map((spec) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'editor-button';
    button.textContent = spec.text;
    button.title = spec.label;
    button.setAttribute('aria-label', spec.label);
    if (spec.active) button.setAttribute('aria-pressed', 'false');
    // Keep the editor's selection when a button is clicked with the mouse.
    button.addEventListener('mousedown', (ev) => ev.preventDefault());
    button.addEventListener('click', () => spec.run(editor, button));
    toolbar.append(button);
    return { spec, button };
  });

  const refresh = () => {
    for (const { spec, button } of controls) {
      if (spec.active) button.setAttribute('aria-pressed', spec.active(editor) ? 'true' : 'false');
      if (spec.enabled) button.disabled = !spec.enabled(editor);
    }
  };

  const sync = () => {
    textarea.value = editor.getHTML();
    doc.value = JSON.stringify(editor.getJSON());
  };

  editor.on('update', sync);
  editor.on('transaction', refresh);
  editor.on('selectionUpdate', refresh);
  form.addEventListener('submit', sync);

  textarea.hidden = true;
  sync();
  refresh();
}

function init() {
  document.querySelectorAll('form[data-editor]').forEach(mount);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', init);
} else {
  init();
}

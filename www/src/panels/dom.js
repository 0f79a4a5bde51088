// The element builder every panel uses, and a byte formatter.

/** `el('p', { class: 'x', text: 'hi' }, child...)`: attributes, `text`, and child nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

/** Bytes in the unit that suits them: a small model's variants weigh kilobytes, not 0.0 MB. */
export function formatBytes(bytes, digits = 1) {
  if (bytes >= 1e5) return `${(bytes / 1e6).toFixed(digits)} MB`;
  if (bytes >= 100) return `${(bytes / 1e3).toFixed(digits)} kB`;
  return `${bytes} B`;
}

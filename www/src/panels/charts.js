// Sizing helpers for the Observable Plot charts of the panels: charts are drawn at the width of
// their container (Plot draws fixed-size SVG) and redrawn when that width changes.

/** The width to draw a chart at inside `el` (falls back before layout; never below 260 px so
 * axes stay readable). */
export function chartWidth(el, fallback = 640) {
  const w = el.clientWidth || el.parentElement?.clientWidth || fallback;
  return Math.max(260, Math.floor(w));
}

/** Calls `redraw()` (debounced to a frame) when the width of `el` changes. */
export function observeWidth(el, redraw) {
  let width = el.clientWidth;
  let frame = 0;
  const ro = new ResizeObserver(() => {
    if (el.clientWidth === width) return;
    width = el.clientWidth;
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(redraw);
  });
  ro.observe(el);
  return () => ro.disconnect();
}

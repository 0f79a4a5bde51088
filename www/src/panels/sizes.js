// Size and trade-off (work in progress: the charts land next).
export function mount(section) {
  const h2 = document.createElement('h2');
  h2.textContent = 'Size and speed';
  section.append(h2);
}

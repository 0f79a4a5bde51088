// Side by side: one image, several variants (work in progress: the columns land next).
export function mount(section) {
  const h2 = document.createElement('h2');
  h2.textContent = 'Side by side';
  section.append(h2);
}

// Every way an image gets onto the page: drop anywhere, paste, the file picker, a webcam
// snapshot and the sample gallery. They all end in useImage(), which shows the preview and hands
// the image to the panels through app._setImage(). An .onnx file dropped, pasted or chosen here
// is a model, not an image: it goes to the model picker (onModelFile).
import { isModelFile } from './model-picker.js';

const $ = (sel) => document.querySelector(sel);

export const SAMPLES = [...document.querySelectorAll('button.sample')].map((b) => b.dataset.name);

let sampleRequest = 0;

/** Puts an image on show: `blob` (File/Blob), `sample` = its sample name if it is one. */
export function useImage(app, blob, { sample = null } = {}) {
  sampleRequest++; // a slower sample fetch must not replace this image
  const name = blob.name || (blob.type === 'image/png' ? 'image.png' : 'image');
  const url = URL.createObjectURL(blob);
  const preview = $('#preview');
  preview.src = url;
  preview.alt = sample ? `Sample: ${name}` : `Your image: ${name}`;
  preview.hidden = false;
  $('#drop-hint').hidden = true;
  for (const b of document.querySelectorAll('button.sample')) b.setAttribute('aria-pressed', String(b.dataset.name === sample));
  app.error(null);
  app._setImage({ blob, name, url });
  app.setState({ sample: sample ?? '' });
}

export async function loadSample(app, name) {
  const mine = ++sampleRequest;
  try {
    const res = await fetch(`./samples/${encodeURIComponent(name)}`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const blob = await res.blob();
    if (mine !== sampleRequest) return;
    useImage(app, new File([blob], name, { type: blob.type }), { sample: name });
  } catch (e) {
    app.error(`Could not load the sample ${name}: ${e.message}`);
  }
}

function firstImage(files) {
  for (const f of files ?? []) if (!isModelFile(f) && (f.type.startsWith('image/') || f.type === '')) return f;
  return [...(files ?? [])].find((f) => !isModelFile(f)) ?? null;
}

export function initInputs(app, { onModelFile = () => {} } = {}) {
  /** Files from a drop, paste or picker: the .onnx to the model picker, the first image to the panels. */
  const take = (files) => {
    const model = [...(files ?? [])].find(isModelFile);
    if (model) onModelFile(model);
    const image = firstImage(files);
    if (image) useImage(app, image);
  };

  const preview = $('#preview');
  preview.addEventListener('error', () => {
    // Not an image the browser can show (the panels report the engine's own error).
    preview.hidden = true;
  });

  const fileInput = $('#file-input');
  fileInput.addEventListener('change', () => {
    const files = [...(fileInput.files ?? [])];
    fileInput.value = ''; // choosing the same file again uses it again
    take(files);
  });

  for (const button of document.querySelectorAll('button.sample')) {
    button.addEventListener('click', () => loadSample(app, button.dataset.name));
  }

  let dragDepth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth++;
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) document.body.classList.remove('dragging');
  });
  document.addEventListener('drop', (e) => {
    // A drop on a panel's own file control (e.g. the calibration set) is that control's.
    if (e.target instanceof HTMLInputElement && e.target.type === 'file') return;
    e.preventDefault();
    dragDepth = 0;
    document.body.classList.remove('dragging');
    take(e.dataTransfer?.files);
  });

  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.items ?? [])]
      .filter((item) => item.kind === 'file')
      .map((item) => item.getAsFile())
      .filter(Boolean);
    if (files.length) {
      e.preventDefault();
      take(files);
    }
  });

  initWebcam(app);
}

/** Why the webcam cannot be used here, or null if it may be. */
function webcamUnavailable() {
  if (!window.isSecureContext) return 'The webcam needs a secure page (https or localhost).';
  if (!navigator.mediaDevices?.getUserMedia) return 'This browser offers no webcam access.';
  const policy = document.permissionsPolicy ?? document.featurePolicy;
  if (policy?.allowsFeature && !policy.allowsFeature('camera')) return 'This page is not allowed to use a camera.';
  return null;
}

function initWebcam(app) {
  const button = $('#webcam-button');
  const note = $('#webcam-note');
  const box = $('#webcam-box');
  const video = $('#webcam-video');
  let stream = null;

  const disable = (reason) => {
    button.disabled = true;
    note.textContent = reason;
  };
  const stop = () => {
    for (const t of stream?.getTracks() ?? []) t.stop();
    stream = null;
    video.srcObject = null;
    box.hidden = true;
    button.hidden = false;
  };

  const reason = webcamUnavailable();
  if (reason) return disable(reason);
  // Device kinds are listed without permission: no camera, no button.
  navigator.mediaDevices.enumerateDevices?.().then(
    (devices) => {
      if (!devices.some((d) => d.kind === 'videoinput')) disable('No camera found on this device.');
    },
    () => {},
  );

  button.addEventListener('click', async () => {
    note.textContent = '';
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      video.srcObject = stream;
      box.hidden = false;
      button.hidden = true;
      $('#webcam-snap').focus();
    } catch (e) {
      stop();
      note.textContent =
        e.name === 'NotAllowedError' ? 'Camera permission was refused.' : `The webcam could not start: ${e.message}`;
    }
  });

  $('#webcam-snap').addEventListener('click', () => {
    if (!stream || !video.videoWidth) return;
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    canvas.toBlob((blob) => {
      stop();
      button.focus();
      if (blob) useImage(app, new File([blob], 'webcam.png', { type: 'image/png' }));
      else note.textContent = 'The snapshot failed.';
    }, 'image/png');
  });
  $('#webcam-cancel').addEventListener('click', () => {
    stop();
    button.focus();
  });
}

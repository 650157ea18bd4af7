// The candidates' upload page, enhanced. Without this module every form
// still works; with it a phone photo (2-6 MB, often turned by EXIF) is
// decoded upright, can be rotated, is scaled and re-encoded to fit the
// 200 KB rule, and is uploaded with per-slot progress and retry.
const LIMIT = 204800;
const $ = (sel, root = document) => root.querySelector(sel);
const prep = $('#prep');
const ask = $('#confirm');
const camera = $('#camera');

const kb = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`);

// crypto.randomUUID needs a secure context; a demo over plain http on a
// LAN is not one, getRandomValues works everywhere.
function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---- JPEG: EXIF orientation, frame size, metadata-free copy

function segments(v, visit) {
  let off = 2;
  while (off + 4 <= v.byteLength && v.getUint8(off) === 0xff) {
    const m = v.getUint8(off + 1);
    if (m === 0xda || m === 0xd9) return off;
    const len = v.getUint16(off + 2);
    visit(m, off, len);
    off += 2 + len;
  }
  return off;
}

function exifOrientation(v, start, len) {
  if (len < 16 || v.getUint32(start) !== 0x45786966) return 1; // "Exif"
  const t = start + 6;
  const le = v.getUint16(t) === 0x4949;
  const ifd = t + v.getUint32(t + 4, le);
  if (ifd + 2 > start + len) return 1;
  for (let i = 0, n = v.getUint16(ifd, le); i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > start + len) break;
    if (v.getUint16(e, le) === 0x0112) return v.getUint16(e + 8, le);
  }
  return 1;
}

function jpegInfo(buf) {
  const v = new DataView(buf);
  if (v.byteLength < 4 || v.getUint16(0) !== 0xffd8) return null;
  const info = { orientation: 1, width: 0, height: 0 };
  segments(v, (m, off, len) => {
    if (m === 0xe1) info.orientation = exifOrientation(v, off + 4, len - 2);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      info.height = v.getUint16(off + 5);
      info.width = v.getUint16(off + 7);
    }
  });
  return info;
}

// A JPEG that already fits keeps its pixels; only EXIF/XMP (APP1, which
// can hold the location) and comments go.
function stripMeta(buf) {
  const v = new DataView(buf);
  const keep = [buf.slice(0, 2)];
  const end = segments(v, (m, off, len) => {
    if (m !== 0xe1 && m !== 0xfe) keep.push(buf.slice(off, off + 2 + len));
  });
  keep.push(buf.slice(end));
  return new Blob(keep, { type: 'image/jpeg' });
}

// ---- decode upright, render turned and scaled, encode to fit

// Browsers ignoring EXIF are detected by the frame size for the turning
// orientations (5-8); the flips without turning are rare in phones.
function orientationApplied(bmp, info) {
  if (!info || info.orientation < 5 || !info.width) return true;
  return bmp.width === info.height && bmp.height === info.width;
}

async function decode(file) {
  const buf = await file.arrayBuffer();
  const info = jpegInfo(buf);
  let bmp;
  try {
    bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    bmp = await createImageBitmap(file);
  }
  let extra = 0;
  if (!orientationApplied(bmp, info)) {
    extra = { 3: 180, 6: 90, 8: 270 }[info.orientation] || 0;
  }
  return { buf, info, bmp, extra };
}

function render(src, rot, edge) {
  const scale = Math.min(1, edge / Math.max(src.width, src.height));
  const w = Math.max(1, Math.round(src.width * scale));
  const h = Math.max(1, Math.round(src.height * scale));
  const turned = rot % 180 !== 0;
  const c = document.createElement('canvas');
  c.width = turned ? h : w;
  c.height = turned ? w : h;
  const g = c.getContext('2d');
  g.imageSmoothingEnabled = true;
  g.imageSmoothingQuality = 'high';
  // A transparent PNG becomes white, as on paper, not black.
  g.fillStyle = '#fff';
  g.fillRect(0, 0, c.width, c.height);
  g.translate(c.width / 2, c.height / 2);
  g.rotate((rot * Math.PI) / 180);
  g.drawImage(src, -w / 2, -h / 2, w, h);
  return c;
}

const encode = (c, q) => new Promise((ok, err) => c.toBlob((b) => (b ? ok(b) : err(new Error('encode'))), 'image/jpeg', q));

// Text stays legible at ~1600 px even at JPEG quality 0.55, less so when
// the page shrinks: keep the pixels, give up quality first, and shrink
// only when even 0.55 does not fit. Then a binary search finds the best
// quality that fits. Chroma survives (red seals stay red).
const FLOOR = 0.55;
async function fit(bmp, rot) {
  let edge = Math.min(1600, Math.max(bmp.width, bmp.height));
  for (;;) {
    const c = render(bmp, rot, edge);
    const top = await encode(c, 0.92);
    if (top.size <= LIMIT) return { blob: top, w: c.width, h: c.height, q: 0.92 };
    const bottom = await encode(c, FLOOR);
    if (bottom.size <= LIMIT) {
      let best = { blob: bottom, q: FLOOR };
      let lo = FLOOR;
      let hi = 0.92;
      for (let i = 0; i < 5; i++) {
        const q = (lo + hi) / 2;
        const b = await encode(c, q);
        if (b.size <= LIMIT) {
          best = { blob: b, q };
          lo = q;
        } else hi = q;
      }
      return { ...best, w: c.width, h: c.height };
    }
    if (edge <= 480) throw new Error('fit');
    // Bytes grow with pixels: aim the next edge at what should fit.
    edge = Math.max(480, Math.round(edge * Math.min(0.9, Math.sqrt((0.95 * LIMIT) / bottom.size))));
  }
}

// ---- the preparation dialog

let job = null;

async function prepare() {
  const j = job;
  const info = $('#prep-info');
  const up = $('[data-act=upload]', prep);
  up.disabled = true;
  info.textContent = '正在处理图片…';
  // Timed from the choice of the file (decoding included) the first time.
  const t0 = j.t0 || performance.now();
  j.t0 = 0;
  try {
    const rot = (j.rot + j.decoded.extra) % 360;
    const { info: ji, buf } = j.decoded;
    const kind = j.file.type;
    const asIs = j.rot === 0 && j.decoded.extra === 0 && j.file.size <= LIMIT
      && (ji ? ji.orientation === 1 : kind === 'image/png');
    let out;
    if (asIs && ji) out = { blob: stripMeta(buf), w: j.decoded.bmp.width, h: j.decoded.bmp.height, q: 0 };
    else if (asIs) out = { blob: j.file, w: j.decoded.bmp.width, h: j.decoded.bmp.height, q: 0 };
    else out = await fit(j.decoded.bmp, rot);
    if (job !== j) return; // a newer file or turn won
    j.out = out;
    const ms = Math.round(performance.now() - t0);
    const shown = await createImageBitmap(out.blob);
    const cv = $('#prep-canvas');
    const s = Math.min(1, 640 / Math.max(shown.width, shown.height));
    cv.width = Math.round(shown.width * s);
    cv.height = Math.round(shown.height * s);
    const g = cv.getContext('2d');
    g.imageSmoothingQuality = 'high';
    g.drawImage(shown, 0, 0, cv.width, cv.height);
    prep.dataset.ms = String(ms);
    prep.dataset.bytes = String(out.blob.size);
    const how = out.q ? `已压缩为 ${out.w}×${out.h}` : `原图 ${out.w}×${out.h}，无需压缩`;
    info.textContent = `${how}，最终大小 ${kb(out.blob.size)}（原文件 ${kb(j.file.size)}）。请确认图片清晰、方向正确。`;
    up.disabled = false;
  } catch {
    if (job !== j) return;
    info.textContent = '无法读取这个文件：只接受 jpg/jpeg/png 格式的图片，请重新选择。';
  }
}

async function open(form, file) {
  job = { form, file, rot: 0, decoded: null, out: null, t0: performance.now() };
  const j = job;
  $('.prep-name', prep).textContent = form.closest('.slot').dataset.label;
  delete prep.dataset.bytes;
  if (!prep.open) prep.showModal();
  try {
    j.decoded = await decode(file);
  } catch {
    if (job === j) $('#prep-info').textContent = '无法读取这个文件：只接受 jpg/jpeg/png 格式的图片，请重新选择。';
    return;
  }
  if (job === j) prepare();
}

prep.addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (!b || !job) return;
  if (b.dataset.rot) {
    if (!job.decoded) return;
    job.rot = (job.rot + Number(b.dataset.rot) + 360) % 360;
    prepare();
  } else if (b.dataset.act === 'cancel') {
    prep.close();
  } else if (b.dataset.act === 'upload' && job.out) {
    const { form, out } = job;
    prep.close();
    send(form, out.blob, uuid());
  }
});
prep.addEventListener('close', () => {
  if (job) $('input[type=file]', job.form).value = '';
  job = null;
});

// ---- upload with progress and retry

function send(form, blob, key) {
  const box = $('.progress', form);
  const bar = $('progress', box);
  const shown = $('.progress-text', box);
  const live = $('.progress-live', box);
  // Shown at every event; spoken (aria-live) only in quarters and at the end.
  const text = {
    set textContent(t) {
      shown.textContent = t;
      live.textContent = t;
    },
  };
  const retry = $('.retry', box);
  const buttons = [...form.querySelectorAll('.actions button')];
  box.hidden = false;
  retry.hidden = true;
  form.classList.add('busy');
  for (const b of buttons) b.disabled = true;
  let said = -1;
  const fd = new FormData();
  fd.append('csrf', form.elements.csrf.value);
  fd.append('slot', form.elements.slot.value);
  fd.append('file', blob, 'photo.jpg');
  const xhr = new XMLHttpRequest();
  xhr.open('POST', form.action);
  xhr.setRequestHeader('X-Requested-With', 'shenhe');
  xhr.setRequestHeader('Idempotency-Key', key);
  xhr.timeout = 120000;
  const fail = (msg, again) => {
    form.classList.remove('busy');
    for (const b of buttons) b.disabled = false;
    bar.value = 0;
    text.textContent = msg;
    retry.hidden = !again;
    retry.onclick = () => send(form, blob, key);
  };
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    const p = Math.round((e.loaded * 100) / e.total);
    bar.value = p;
    shown.textContent = `正在上传 ${p}%（共 ${kb(e.total)}）`;
    const step = Math.floor(p / 25);
    if (step !== said) {
      said = step;
      live.textContent = shown.textContent;
    }
  };
  xhr.onload = () => {
    let body = {};
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      body = {};
    }
    if (xhr.status === 201 || xhr.status === 200) {
      bar.value = 100;
      text.textContent = '上传成功';
      form.classList.remove('busy');
      refresh(form.closest('.slot').id);
    } else if (xhr.status === 401) {
      location.href = '/?expired=1';
    } else {
      fail(body.error || `上传失败（${xhr.status}），请重试。`, Boolean(body.retry) || xhr.status >= 500);
    }
  };
  xhr.onerror = () => fail('网络中断，上传没有完成。请检查网络后点“重试”。', true);
  xhr.ontimeout = () => fail('上传超时。请检查网络后点“重试”。', true);
  xhr.send(fd);
}

// ---- after a change: swap in the new state, leaving busy slots alone

async function refresh(focusSlot) {
  const res = await fetch('/materials', { headers: { 'X-Requested-With': 'shenhe' } });
  if (res.redirected || !res.ok) {
    location.href = '/?expired=1';
    return;
  }
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  for (const id of ['live-top', 'submit-box']) {
    const now = document.getElementById(id);
    const fresh = doc.getElementById(id);
    if (now && fresh) now.replaceWith(document.adoptNode(fresh));
  }
  for (const fresh of doc.querySelectorAll('section.cat')) {
    const now = document.getElementById(fresh.id);
    if (now && !now.querySelector('.busy') && !(job && now.contains(job.form))) {
      now.replaceWith(document.adoptNode(fresh));
    }
  }
  $('#messages').textContent = '';
  showCameras();
  const slot = focusSlot && document.getElementById(focusSlot);
  if (slot && (!document.activeElement || document.activeElement === document.body)) {
    const h = $('h3', slot);
    h.tabIndex = -1;
    h.focus();
  }
}

function confirmed(message, yes) {
  $('#confirm-msg').textContent = message;
  $('[data-act=yes]', ask).textContent = yes;
  ask.returnValue = '';
  ask.showModal();
  return new Promise((ok) => {
    ask.addEventListener('close', () => ok(ask.returnValue === 'yes'), { once: true });
  });
}
ask.addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (b) ask.close(b.dataset.act);
});

async function post(url) {
  const csrf = $('input[name=csrf]').value;
  const res = await fetch(url, {
    method: 'POST',
    body: new URLSearchParams({ csrf }),
    headers: { 'X-Requested-With': 'shenhe', 'X-CSRF-Token': csrf },
  });
  let body = {};
  try {
    body = await res.json();
  } catch {
    body = {};
  }
  if (res.status === 401) location.href = '/?expired=1';
  return res.ok ? null : body.error || `操作失败（${res.status}）`;
}

function say(msg) {
  const m = $('#messages');
  m.textContent = '';
  const p = document.createElement('p');
  p.className = 'error';
  p.setAttribute('role', 'alert');
  p.textContent = msg;
  m.append(p);
}

// ---- wiring (delegated: sections are swapped after every change)

document.addEventListener('change', (e) => {
  const input = e.target;
  if (input.matches('form.up input[type=file]') && input.files.length) open(input.form, input.files[0]);
});
camera.addEventListener('change', () => {
  if (camera.files.length && camera.target) open(camera.target, camera.files[0]);
  camera.value = '';
});

document.addEventListener('click', (e) => {
  const b = e.target.closest('button.camera');
  if (!b) return;
  camera.target = b.form;
  camera.click();
});

document.addEventListener('submit', async (e) => {
  const form = e.target;
  if (form.matches('form.up')) {
    e.preventDefault();
    const input = $('input[type=file]', form);
    if (input.files.length) open(form, input.files[0]);
    else input.click();
  } else if (form.matches('form.del')) {
    e.preventDefault();
    const label = form.closest('.slot').dataset.label;
    if (!(await confirmed(`确定删除“${label}”这张图片吗？删除后可以重新上传。`, '删除'))) return;
    const err = await post(form.action);
    if (err) say(err);
    else refresh(form.closest('.slot').id);
  } else if (form.matches('form.submit-form')) {
    e.preventDefault();
    const q = '确认提交审核吗？提交后所有图片将锁定（已锁定），审核期间不能修改。';
    if (!(await confirmed(q, '提交审核'))) return;
    const err = await post('/submit');
    if (err) say(err);
    else refresh();
  }
});

function showCameras() {
  for (const b of document.querySelectorAll('button.camera')) b.hidden = false;
}
showCameras();
document.documentElement.classList.add('js');

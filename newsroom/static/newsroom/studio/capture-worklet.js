// Microphone capture in the audio thread: low-pass, resample from the context's native rate to
// 16 kHz (the fractional read position is carried from block to block), clamp, Int16 little-endian,
// and post about 100 ms per frame to the page, with the frame's level (RMS) and peak for the meter and mic check.

const TARGET_RATE = 16000;
const FRAME_SAMPLES = 1600; // 100 ms

// RBJ cookbook low-pass biquad; two in cascade with Butterworth Qs make a 4th-order Butterworth.
function lowpass(rate, cutoff, q) {
  const w = (2 * Math.PI * cutoff) / rate;
  const alpha = Math.sin(w) / (2 * q);
  const cos = Math.cos(w);
  const a0 = 1 + alpha;
  return {
    b0: (1 - cos) / 2 / a0, b1: (1 - cos) / a0, b2: (1 - cos) / 2 / a0,
    a1: (-2 * cos) / a0, a2: (1 - alpha) / a0,
    x1: 0, x2: 0, y1: 0, y2: 0,
  };
}

function run(filter, x) {
  const y = filter.b0 * x + filter.b1 * filter.x1 + filter.b2 * filter.x2 - filter.a1 * filter.y1 - filter.a2 * filter.y2;
  filter.x2 = filter.x1; filter.x1 = x;
  filter.y2 = filter.y1; filter.y1 = y;
  return y;
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / TARGET_RATE; // input samples per output sample
    const cutoff = Math.min(7000, sampleRate * 0.45);
    this.filters = this.ratio > 1 ? [lowpass(sampleRate, cutoff, 0.5412), lowpass(sampleRate, cutoff, 1.3066)] : [];
    this.position = 0; // read position of the next output sample, relative to the current block
    this.previous = 0; // last filtered sample of the previous block
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.sumSquares = 0;
    this.peak = 0;
    this.filtered = new Float32Array(128);
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const input = channels[0];
    const n = input.length;
    if (this.filtered.length < n) this.filtered = new Float32Array(n);
    const x = this.filtered;
    for (let i = 0; i < n; i++) {
      let sample = input[i];
      // Mix down: average every channel the microphone gives.
      for (let c = 1; c < channels.length; c++) sample += channels[c][i];
      sample /= channels.length;
      for (const filter of this.filters) sample = run(filter, sample);
      x[i] = sample;
    }
    let position = this.position;
    while (position < n - 1) {
      const index = Math.floor(position);
      const fraction = position - index;
      const a = index < 0 ? this.previous : x[index];
      const b = x[index + 1];
      this.emit(a + (b - a) * fraction);
      position += this.ratio;
    }
    this.position = position - n;
    this.previous = x[n - 1];
    return true;
  }

  emit(value) {
    const clamped = Math.max(-1, Math.min(1, value));
    this.sumSquares += clamped * clamped;
    this.peak = Math.max(this.peak, Math.abs(clamped));
    this.frame[this.filled++] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
    if (this.filled === FRAME_SAMPLES) {
      // Int16Array uses the platform's byte order; every browser platform is little-endian,
      // and the page checks that before it sends a byte.
      const pcm = this.frame.buffer;
      this.port.postMessage({ pcm, level: Math.sqrt(this.sumSquares / FRAME_SAMPLES), peak: this.peak }, [pcm]);
      this.frame = new Int16Array(FRAME_SAMPLES);
      this.filled = 0;
      this.sumSquares = 0;
      this.peak = 0;
    }
  }
}

registerProcessor("capture-16k", CaptureProcessor);

/**
 * Pixel decoding and display windowing of DICOM frames, through dcmjs-imaging (dcmjs parsing plus
 * WebAssembly decoders for RLE, JPEG baseline/extended/lossless, JPEG-LS and JPEG 2000). Its
 * pipeline applies the modality LUT (RescaleSlope/Intercept), the window, MONOCHROME1 inversion,
 * signed and float pixels, and colour conversion (RGB, YBR_*, palette) before handing back RGBA.
 */
import type Imaging from 'dcmjs-imaging';
import { XnatBadRequestError } from '../errors.js';
import type { Raster } from './raster.js';

/** Transfer syntaxes dcmjs-imaging decodes, by UID. */
export const SUPPORTED_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
};

const RLE = '1.2.840.10008.1.2.5';

export interface Window {
  center: number;
  width: number;
}

let decoders: Promise<typeof Imaging> | undefined;

/**
 * Loads dcmjs-imaging and its WebAssembly decoders once per process, on the first render: loading
 * the library alone takes about 100 ms, which every server start would pay before tools/list.
 */
function initDecoders(): Promise<typeof Imaging> {
  decoders ??= import('dcmjs-imaging')
    .then(async ({ default: imaging }) => {
      // Their warnings about odd files go to the console, which on stdio would corrupt the protocol.
      imaging.log.setLevel('silent');
      await imaging.NativePixelDecoder.initializeAsync({ logNativeDecodersMessages: false });
      return imaging;
    })
    .catch((err: unknown) => {
      decoders = undefined;
      throw err;
    });
  return decoders;
}

export function checkSyntax(uid: string, what: string): void {
  if (SUPPORTED_SYNTAXES[uid] === undefined) {
    throw new XnatBadRequestError(
      `Cannot render ${what}: its transfer syntax ${uid} is not one this server decodes (supported: ${Object.values(SUPPORTED_SYNTAXES).join(', ')})`,
    );
  }
}

export interface DecodedFile {
  frames: number;
  /** Renders one frame; `window` undefined lets the file choose (its own window, else its pixel range). */
  render(frame: number, window: Window | undefined): { raster: Raster; window?: Window };
}

/** Parses one whole DICOM file; rendering happens per frame. */
export async function decodeDicom(bytes: Buffer, what: string): Promise<DecodedFile> {
  const { DicomImage, WindowLevel } = await initDecoders();
  let image: InstanceType<typeof DicomImage>;
  try {
    image = new DicomImage(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer,
    );
  } catch (err) {
    throw new XnatBadRequestError(`Cannot read ${what} as DICOM: ${errorText(err)}`);
  }
  const syntax = image.getTransferSyntaxUid();
  checkSyntax(syntax, what);
  const planarRle =
    syntax === RLE &&
    String(image.getElement('SamplesPerPixel')) === '3' &&
    String(image.getElement('PlanarConfiguration')) !== '1';
  if (planarRle && String(image.getElement('BitsAllocated')) !== '8') {
    // The planes of wider samples arrive byte-split as well; refused rather than drawn wrong.
    throw new XnatBadRequestError(
      `Cannot render ${what}: colour RLE with ${String(image.getElement('BitsAllocated'))}-bit samples is not supported (8-bit colour RLE and grey RLE are)`,
    );
  }
  return {
    frames: image.getNumberOfFrames(),
    render(frame, window) {
      let result: ReturnType<typeof image.render>;
      try {
        result = image.render({
          frame,
          renderOverlays: false,
          ...(window ? { windowLevel: new WindowLevel(window.width, window.center) } : {}),
        });
      } catch (err) {
        throw new XnatBadRequestError(
          `Cannot decode ${what} (${SUPPORTED_SYNTAXES[syntax]}, ${syntax}): ${errorText(err)}`,
        );
      }
      const rgba = new Uint8Array(result.pixels);
      const raster = fromRgba(planarRle ? interleave(rgba) : rgba, result.width, result.height);
      const used = result.windowLevel;
      return {
        raster,
        ...(used ? { window: { center: used.getLevel(), width: used.getWindow() } } : {}),
      };
    },
  };
}

/**
 * dcmjs-imaging 0.2.5 hands colour RLE frames on in the codec's planar order (RRR…GGG…BBB…) but
 * renders them as interleaved (PlanarConfiguration 0, which RLE files declare): its RGB output
 * then holds the planes in sequence, which this puts back together.
 */
function interleave(rgba: Uint8Array): Uint8Array {
  const n = rgba.length / 4;
  const planes = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) planes.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
  const out = new Uint8Array(rgba.length);
  for (let i = 0; i < n; i++) {
    out[i * 4] = planes[i]!;
    out[i * 4 + 1] = planes[n + i]!;
    out[i * 4 + 2] = planes[2 * n + i]!;
    out[i * 4 + 3] = 255;
  }
  return out;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}

/** RGBA to grey when every pixel is grey, else RGB. */
function fromRgba(rgba: Uint8Array, width: number, height: number): Raster {
  const n = width * height;
  let grey = true;
  for (let i = 0; i < n && grey; i++) {
    grey = rgba[i * 4] === rgba[i * 4 + 1] && rgba[i * 4] === rgba[i * 4 + 2];
  }
  const channels = grey ? 1 : 3;
  const data = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < channels; k++) data[i * channels + k] = rgba[i * 4 + k]!;
  }
  return { width, height, channels, data };
}

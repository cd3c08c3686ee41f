/** Image limits and window presets: the tool schemas need them without loading the decoders. */
/** CT windows in Hounsfield units (centre, width), as radiology viewers name them. */
export const WINDOW_PRESETS = {
  brain: { center: 40, width: 80 },
  subdural: { center: 75, width: 215 },
  bone: { center: 400, width: 1800 },
  lung: { center: -600, width: 1500 },
  soft: { center: 40, width: 400 },
} as const;
export type WindowPreset = keyof typeof WINDOW_PRESETS;

export const MAX_IMAGE_SIZE = 1024;
/** PNG bytes; base64 makes the MCP content a third larger. */
export const MAX_IMAGE_BYTES = 1_500_000;
export const MAX_MONTAGE = 64;

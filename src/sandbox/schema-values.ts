/**
 * The numeric fields of the types the sandbox models, from xnat.xsd: XNAT stores `xs:float` and
 * `xs:double` as doubles and `xs:integer` as integers, so item JSON shows them as numbers and the
 * XML writer (`XMLWriter.ValueParser`) prints a double with Java's `Double.toString` (`42.0`).
 */

export type NumberKind = 'float' | 'integer';

const MR_SCAN: Record<string, NumberKind> = {
  'parameters/voxelRes/x': 'float',
  'parameters/voxelRes/y': 'float',
  'parameters/voxelRes/z': 'float',
  'parameters/fov/x': 'integer',
  'parameters/fov/y': 'integer',
  'parameters/matrix/x': 'integer',
  'parameters/matrix/y': 'integer',
  'parameters/partitions': 'integer',
  'parameters/tr': 'float',
  'parameters/te': 'float',
  'parameters/deltaTE': 'float',
  'parameters/ti': 'float',
  'parameters/flip': 'float',
  'parameters/dtiAcqCount': 'integer',
  'parameters/pixelBandwidth': 'float',
  'parameters/echoSpacing': 'float',
};

const DEMOGRAPHICS: Record<string, NumberKind> = {
  yob: 'integer',
  age: 'integer',
  ses: 'integer',
  employment: 'integer',
  education: 'integer',
  weight: 'float',
  height: 'float',
  gestational_age: 'float',
  post_menstrual_age: 'float',
  birth_weight: 'float',
};

/** subjectAssessorData's `age` and imageSessionData's `dcmPatientWeight`. */
const SUBJECT_ASSESSOR: Record<string, NumberKind> = { age: 'float', dcmPatientWeight: 'float' };

export function scanNumberKind(xsiType: string, path: string): NumberKind | undefined {
  return xsiType.toLowerCase() === 'xnat:mrscandata' ? MR_SCAN[path] : undefined;
}

export function demographicNumberKind(key: string): NumberKind | undefined {
  return DEMOGRAPHICS[key];
}

export function experimentNumberKind(path: string): NumberKind | undefined {
  return SUBJECT_ASSESSOR[path];
}

export function isValidNumber(kind: NumberKind, value: string): boolean {
  if (kind === 'integer') return /^[-+]?\d+$/.test(value.trim());
  return value.trim() !== '' && Number.isFinite(Number(value));
}

/** Java's `Double.toString`: `42.0`, `3.08`, `1.0E-4`, `1.5E7`. */
export function javaDouble(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN';
  const magnitude = Math.abs(value);
  if (magnitude === 0 || (magnitude >= 1e-3 && magnitude < 1e7)) {
    const text = String(value);
    return text.includes('.') ? text : `${text}.0`;
  }
  const [mantissa = '', exponent = ''] = value.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

/** How the XML document prints a stored value of a numeric kind (plain text otherwise). */
export function xmlText(kind: NumberKind | undefined, value: string | number): string {
  if (kind === 'float' && typeof value === 'number') return javaDouble(value);
  return String(value);
}

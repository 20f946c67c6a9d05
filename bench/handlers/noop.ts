export default function noop(): null {
  return null;
}

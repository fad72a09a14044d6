// The parser ships no types; this is the shape it returns for the families we write.
declare module 'parse-prometheus-text-format' {
  interface ParsedSample {
    value: string
    labels?: Record<string, string>
  }
  interface ParsedFamily {
    name: string
    help: string
    type: 'GAUGE' | 'COUNTER' | 'UNTYPED' | 'SUMMARY' | 'HISTOGRAM'
    metrics: ParsedSample[]
  }
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[]
}

// Runs an S3-compatible server (s3rver) on 127.0.0.1 in its own process, so
// a test can kill it mid-transfer: node s3rver-main.js DIR PORT BUCKET…
// Prints the port it listens on, then serves until killed.
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {run(): Promise<{port: number}>}

const [directory, port, ...buckets] = process.argv.slice(2)
const server = new S3rver({address: '127.0.0.1', port: Number(port), silent: true, directory, configureBuckets: buckets.map((name) => ({name}))})
const address = await server.run()
process.stdout.write(`${address.port}\n`)

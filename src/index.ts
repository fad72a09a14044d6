// The redrepl core library: formats, layout, plans and operations on RedDB
// 1.12 primary-replica files, without any terminal concerns.
export * from './core/errors.js'
export * from './core/model.js'
export * from './core/layout.js'
export * from './core/codec/crc.js'
export * from './core/codec/json.js'
export * from './core/format/artifact.js'

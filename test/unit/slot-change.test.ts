import assert from 'node:assert/strict'
import {test} from 'node:test'

import {dropSlot, invalidateSlot, slotCatalogCodec} from '../../src/core/format/slot-catalog.js'
import {listFixtures, NOW_MS, readFixture, readFixtureJson} from '../support/fixtures.js'

/**
 * A dropped or invalidated slot is written the way RedDB writes any catalog:
 * for every fixture catalog RedDB wrote, changing one slot and encoding gives
 * exactly the bytes of the fixture's own JSON, edited the same way, encoded.
 */

const CATALOGS = listFixtures('valid', 'slot-catalog').filter((name) => name.endsWith('.redslots') && !name.includes('.reencoded.'))
const ctx = {nowMs: NOW_MS}

test('dropping each slot of each fixture catalog leaves every other slot byte-for-byte as RedDB wrote it', () => {
  assert.ok(CATALOGS.length > 5)
  for (const name of CATALOGS) {
    const catalog = slotCatalogCodec.decode(readFixture('valid', 'slot-catalog', name), ctx)
    const json = readFixtureJson('valid', 'slot-catalog', name.replace('.redslots', '.json')) as any
    for (const slot of catalog.slots) {
      const dropped = slotCatalogCodec.encode(dropSlot(catalog, slot.replica_id), ctx)
      const edited = {...json, slots: json.slots.filter((s: any) => s.replica_id !== slot.replica_id)}
      assert.deepEqual(dropped, slotCatalogCodec.encode(slotCatalogCodec.fromJson(edited), ctx), `${name}: drop ${slot.replica_id}`)
      const back = slotCatalogCodec.decode(dropped, ctx)
      assert.equal(back.slots.length, catalog.slots.length - 1)
      assert.equal(back.timeline, catalog.timeline, 'the catalog keeps its timeline field (RedDB 1.12 writes 1 after a failover)')
    }
  }
})

test('an invalidated slot keeps its positions, stops holding WAL, and records reason and time', () => {
  for (const name of CATALOGS) {
    const catalog = slotCatalogCodec.decode(readFixture('valid', 'slot-catalog', name), ctx)
    for (const slot of catalog.slots) {
      const changed = slotCatalogCodec.decode(slotCatalogCodec.encode(invalidateSlot(catalog, slot.replica_id, 'idle-timeout', 1234n), ctx), ctx)
      const after = changed.slots.find((s) => s.replica_id === slot.replica_id)!
      assert.deepEqual(after, {...slot, active: false, invalidation_reason: 'idle-timeout', invalidated_at_unix_ms: 1234n}, name)
      assert.deepEqual(changed.slots.filter((s) => s !== after), catalog.slots.filter((s) => s.replica_id !== slot.replica_id))
    }
  }
})

test('dropping an id the catalog does not hold changes nothing', () => {
  const catalog = slotCatalogCodec.decode(readFixture('valid', 'slot-catalog', 'three-slots.redslots'), ctx)
  assert.deepEqual(slotCatalogCodec.encode(dropSlot(catalog, 'nobody'), ctx), readFixture('valid', 'slot-catalog', 'three-slots.redslots'))
})

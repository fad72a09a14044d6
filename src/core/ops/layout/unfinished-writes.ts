/**
 * What a run stopped by a signal removes on its way out, whatever the
 * command: the temp files of its writes still in flight (fs/atomic.ts keeps
 * their names). A file already renamed into place is whole and stays.
 */
export {removeUnfinishedTempsSync as removeUnfinishedWrites} from '../../fs/atomic.js'

/**
 * The metadata queries operations make of the disk: stat, lstat, realpath
 * and directory listings. They open no descriptor and change nothing; the
 * calls that do (open, read, write, fsync, rename, remove, create) live in
 * the other fs modules, so an operation reaches the disk only through fs/.
 */
export {lstat, readdir, realpath, stat} from 'node:fs/promises'
export {lstatSync, realpathSync, statSync, type Dirent, type Stats} from 'node:fs'

// Package watch reports changes to the files below a set of root
// directories: the log files of one AI coding agent.
//
// A [Watcher] walks its roots once and emits a Full [Batch] listing every
// matching file, then emits the files that change. It watches directories,
// never files, so editors' atomic saves (write a temporary file, rename it
// over the original) are seen. fsnotify has no recursive mode, so the
// watcher adds every directory it walks and, when a directory is created,
// adds it and walks it for files that appeared before the watch existed.
//
// Events are only hints: every reported [FileStat] comes from a fresh stat,
// so handling the same change twice is harmless. What events miss is caught
// three ways:
//
//   - an inotify queue overflow triggers a full rescan, emitted as a Full batch;
//   - a periodic stat-only reconcile (Config.Reconcile, default 1m) emits
//     files whose size, modification time or inode differ from what was last
//     emitted, plus removals, and adds directories that are not yet watched;
//   - when the kernel refuses more watches (ENOSPC, EMFILE) or
//     Config.MaxWatches is reached, the watcher falls back to polling
//     (a stat walk every Config.PollInterval, default 2s) and says so in
//     [Status].
//
// A permission change (IN_ATTRIB) is handled like any change: the file is
// reported again, a directory is listed again. A directory that cannot be
// listed (EACCES, EIO, …) is logged and named in [Status]; its known files
// are reported once more (so their readers find out) and never reported
// removed for it, and it is listed again after 1s, 2s, 4s … up to 30s
// until it can be, when every file below it is reported again.
//
// Roots that do not exist yet are picked up when they appear (the nearest
// existing parent directory is watched for them, and reconcile checks too);
// roots that vanish are reported as removed files and waited for again.
//
// The helpers [Stat], [StatFile] and [HeadHash] give the readers of files
// the identity (device, inode, hash of the first bytes) that tells a grown
// file from a rewritten one. A [Tail] reads the complete lines appended to
// a file past a committed [Mark], in bounded chunks: it tells a rewrite
// from growth, searches an unfinished line only in the bytes appended
// since the last read, and skips a line longer than its cap without
// holding it in memory.
package watch

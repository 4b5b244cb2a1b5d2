package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// storeCmd groups the commands that check and repair the store.
func (a *app) storeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Check or rebuild the store (data dir)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.storeVerifyCmd(), a.storeRebuildCmd())
	return cmd
}

func (a *app) storeVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every table, key and event of the store without writing it (exit 1 if damaged)",
		Long: "Check the store without writing it: the MANIFEST and every table file, every block checksum,\n" +
			"every key's value decoded, the event log gapless from 1 to its head, and checkpoints and the\n" +
			"active index referring to stored sessions. It needs the data dir unlocked: stop the daemon first\n" +
			"(a running daemon checked every table when it opened the store).",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return a.storeVerify() },
	}
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print the report as JSON")
	return cmd
}

func (a *app) storeVerify() error {
	dir := a.cfg.DataDir
	if persistence.InUse(dir) {
		return &exitError{code: 3, err: fmt.Errorf("a running sessiond holds the data dir %s: stop it, then run `sessiond store verify` again", dir)}
	}
	rep, err := persistence.Verify(dir)
	if errors.Is(err, persistence.ErrLocked) {
		return &exitError{code: 3, err: err}
	}
	if err != nil {
		return err
	}
	if a.jsonOut {
		if err := a.printJSON(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "checked %s: %d tables (every block checksum), %d keys: %d sessions, %d checkpoint sets, %d claims, %d active, %d events (head %d)\n",
			dir, rep.Tables, rep.Keys, rep.Sessions, rep.Checkpoints, rep.Claims, rep.Active, rep.Events, rep.Head)
		for _, p := range rep.Problems {
			fmt.Fprintln(a.stdout, "problem:", p)
		}
	}
	if !rep.OK() {
		return &exitError{code: 1, err: fmt.Errorf("the store in %s has %d problems: run `sessiond store rebuild`, or `sessiond restore FILE` from a backup", dir, len(rep.Problems))}
	}
	if !a.jsonOut {
		fmt.Fprintln(a.stdout, "the store is sound")
	}
	return nil
}

func (a *app) storeRebuildCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rebuild",
		Short: "Move the store aside, re-read the agents' files and keep every session only the old store still has",
		Long: "Move the data dir aside to <data dir>.damaged-<UTC time> (never deleted), read every session record\n" +
			"still readable from it, re-ingest every agent's files into a fresh store (like `sessiond scan`),\n" +
			"then import each salvaged session the files no longer produce (agents delete old files). Prints\n" +
			"what came from where and what could not be recovered. Stop the daemon first.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.storeRebuild(cmd.Context()) },
	}
}

// rebuildReport is what `store rebuild` did.
type rebuildReport struct {
	FromFiles  int      // sessions re-read from the agents' files
	FromStore  int      // sessions imported from the damaged store
	Unreadable []string // sessions whose record could not be read
	LostBlocks int      // damaged table blocks: their sessions are unknown
}

func (a *app) storeRebuild(ctx context.Context) error {
	dir := a.cfg.DataDir
	if persistence.InUse(dir) {
		return &exitError{code: 3, err: fmt.Errorf("a running sessiond holds the data dir %s: stop it, then run `sessiond store rebuild` again", dir)}
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("no store to rebuild at %s: %w (run `sessiond scan` to create one)", dir, err)
	}
	aside, err := moveAside(dir, "damaged")
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "moved %s to %s (kept, never deleted)\n", dir, aside)
	sv, err := persistence.SalvageSessions(aside)
	if err != nil {
		return fmt.Errorf("read the sessions of %s: %w (the fresh store is not built yet; move it back to retry)", aside, err)
	}
	if err := a.scan(ctx); err != nil {
		return fmt.Errorf("re-read the agents' files: %w (the old store is in %s)", err, aside)
	}
	st, err := persistence.Open(dir, persistence.Options{IdleTimeout: a.cfg.Run.IdleTimeout.Duration, Logger: a.log})
	if err != nil {
		return err
	}
	fresh, err := st.Sessions(persistence.Filter{})
	if err != nil {
		_ = st.Close()
		return err
	}
	imported, err := st.Import(sv.Sessions, time.Now())
	if cerr := st.Close(); err == nil && cerr != nil && !errors.Is(cerr, persistence.ErrClosed) {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w (the old store is in %s)", err, aside)
	}
	rep := rebuildReport{FromFiles: len(fresh), FromStore: len(imported), Unreadable: sv.Unreadable, LostBlocks: sv.LostBlocks}
	fmt.Fprintf(a.stdout, "%d sessions re-read from the agents' files\n", rep.FromFiles)
	fmt.Fprintf(a.stdout, "%d sessions restored from the damaged store (their files are gone)%s\n", rep.FromStore, keyList(imported))
	switch {
	case len(rep.Unreadable) == 0 && rep.LostBlocks == 0:
		fmt.Fprintln(a.stdout, "every session the damaged store held was recovered")
	default:
		fmt.Fprintf(a.stdout, "could not be recovered: %d session records unreadable, %d damaged table blocks (sessions in them are unknown unless re-read from files)\n",
			len(rep.Unreadable), rep.LostBlocks)
		for _, k := range sv.Unreadable {
			fmt.Fprintln(a.stdout, "  unreadable:", k)
		}
		for _, p := range sv.Problems {
			fmt.Fprintln(a.stdout, "  damaged:", p)
		}
	}
	return nil
}

func keyList(ks []session.Key) string {
	if len(ks) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(":")
	for i, k := range ks {
		if i == 20 {
			fmt.Fprintf(&b, "\n  … and %d more", len(ks)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %s", k)
	}
	return b.String()
}

// moveAside renames dir to <dir>.<what>-<UTC time>.
func moveAside(dir, what string) (string, error) {
	dir = filepath.Clean(dir)
	aside := fmt.Sprintf("%s.%s-%s", dir, what, time.Now().UTC().Format("20060102T150405.000Z"))
	if err := os.Rename(dir, aside); err != nil {
		return "", fmt.Errorf("move %s aside: %w", dir, err)
	}
	return aside, nil
}

func (a *app) backupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a full backup of the store to FILE (works while the daemon runs)",
		Long: "Write a full backup of the store to FILE (Badger's streaming backup), atomically: a temporary\n" +
			"file is fsynced and renamed. While the daemon runs it streams the backup from its API\n" +
			"(GET /api/v1/backup); otherwise it reads the store directly. Load it with `sessiond restore FILE`.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.backup(cmd.Context(), args[0]) },
	}
}

func (a *app) backup(ctx context.Context, file string) error {
	src, err := a.source(ctx, false)
	if err != nil {
		return err
	}
	defer src.Close()
	n, err := src.Backup(ctx, file)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", file, err)
	}
	fmt.Fprintf(a.stdout, "backed up the store to %s (%s)\n", file, humanBytes(n))
	return nil
}

func (a *app) restoreCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Load a backup into the data dir (empty, or moved aside with --force); the daemon must be stopped",
		Long: "Load a backup made by `sessiond backup` into the data dir. The data dir must be missing or empty;\n" +
			"with --force an existing store is moved aside to <data dir>.replaced-<UTC time> (never deleted).\n" +
			"The backup is loaded into a temporary directory and verified before it takes the data dir's place.",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return a.restore(args[0], force) },
	}
	cmd.Flags().BoolVar(&force, "force", false, "move an existing store aside instead of refusing")
	return cmd
}

func (a *app) restore(file string, force bool) error {
	dir := filepath.Clean(a.cfg.DataDir)
	if persistence.InUse(dir) {
		return &exitError{code: 3, err: fmt.Errorf("a running sessiond holds the data dir %s: stop it, then restore", dir)}
	}
	in, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open backup: %w", err)
	}
	defer in.Close()
	es, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read data dir %s: %w", dir, err)
	}
	if len(es) > 0 && !force {
		return &exitError{code: 1, err: fmt.Errorf("the data dir %s is not empty: restore into an empty --data-dir, or pass --force to move the current store aside (kept, never deleted)", dir)}
	}
	tmp := fmt.Sprintf("%s.restoring-%d", dir, os.Getpid())
	_ = os.RemoveAll(tmp) // ours, from an earlier interrupted restore of this pid
	st, err := persistence.Open(tmp, persistence.Options{IdleTimeout: a.cfg.Run.IdleTimeout.Duration, Logger: a.log})
	if err != nil {
		return err
	}
	err = st.Restore(in)
	head, _ := st.Head()
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("load %s: %w (the data dir is unchanged)", file, err)
	}
	rep, err := persistence.Verify(tmp)
	if err != nil || !rep.OK() {
		_ = os.RemoveAll(tmp)
		if err == nil {
			err = fmt.Errorf("%s", strings.Join(rep.Problems, "; "))
		}
		return fmt.Errorf("the backup %s does not verify: %w (the data dir is unchanged)", file, err)
	}
	if len(es) > 0 {
		aside, err := moveAside(dir, "replaced")
		if err != nil {
			_ = os.RemoveAll(tmp)
			return err
		}
		fmt.Fprintf(a.stdout, "moved the current store to %s (kept, never deleted)\n", aside)
	} else if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("replace the empty data dir %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move the restored store %s to %s: %w", tmp, dir, err)
	}
	fmt.Fprintf(a.stdout, "restored %s into %s: %d sessions, event head %d, verified\n", file, dir, rep.Sessions, head)
	return nil
}

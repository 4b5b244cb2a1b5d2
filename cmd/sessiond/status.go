package main

import (
	"slices"

	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// storeView is the store part of the status: bytes on disk and the stored
// sessions, counted per provider into ps (the same way with or without a
// daemon: a provider's sessions are those the store holds, not the files
// or actors it has seen since it started). With countFiles, a provider's
// files are those its stored sessions hold (no daemon knows better).
func storeView(st *persistence.Store, ps []messages.ProviderStatus, countFiles bool) (storeStatus, []messages.ProviderStatus) {
	du := st.OnDisk()
	v := storeStatus{LSMBytes: du.LSM, VlogBytes: du.Vlog, DiskBytes: du.Total, RebuildNeeded: st.StaleClaims()}
	recs, err := st.Sessions(persistence.Filter{})
	if err != nil {
		v.Error = err.Error()
		return v, ps
	}
	v.Sessions = len(recs)
	idx := map[session.Provider]int{}
	for i := range ps {
		idx[ps[i].Provider] = i
		ps[i].Sessions, ps[i].Failed = 0, nil
		if countFiles {
			ps[i].Files = 0
		}
	}
	for _, r := range recs {
		i, ok := idx[r.Provider]
		if !ok {
			continue
		}
		ps[i].Sessions++
		if countFiles {
			ps[i].Files += int(r.Files)
		}
		if r.Status == session.StatusFailed {
			ps[i].Failed = append(ps[i].Failed, string(r.ID))
		}
	}
	for i := range ps {
		slices.Sort(ps[i].Failed)
	}
	return v, ps
}

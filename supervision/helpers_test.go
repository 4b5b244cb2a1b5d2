package supervision_test

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessiond/sessiond/metrics"
)

func testutilValue(m *metrics.Metrics, kind string) float64 {
	return testutil.ToFloat64(m.ActorRestartsTotal.WithLabelValues(kind))
}

func testutilCounter(v *prometheus.CounterVec, labels ...string) float64 {
	return testutil.ToFloat64(v.WithLabelValues(labels...))
}

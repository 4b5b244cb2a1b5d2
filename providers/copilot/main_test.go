package copilot

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// protoactor's dead-letter throttle timer lives up to a second
		goleak.IgnoreAnyFunction(supervisiontest.IgnoreThrottle),
	)
}

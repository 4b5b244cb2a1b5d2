package providers

import "errors"

// ErrUnresolved means a file's session cannot be told yet: its head holds no
// record that names the session. Retry when the file grows.
var ErrUnresolved = errors.New("providers: session of file not known yet")

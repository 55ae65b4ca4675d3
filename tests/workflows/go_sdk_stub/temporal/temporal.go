// Package temporal mirrors the parts of go.temporal.io/sdk/temporal that generated code uses.
package temporal

import "time"

// RetryPolicy has the fields of the SDK's retry policy.
type RetryPolicy struct {
	InitialInterval        time.Duration
	BackoffCoefficient     float64
	MaximumInterval        time.Duration
	MaximumAttempts        int32
	NonRetryableErrorTypes []string
}

// NewApplicationError has the SDK's signature.
func NewApplicationError(message, errType string, details ...interface{}) error {
	panic("type-checking stub")
}

// NewApplicationErrorWithCause has the SDK's signature.
func NewApplicationErrorWithCause(message, errType string, cause error, details ...interface{}) error {
	panic("type-checking stub")
}

// NewNonRetryableApplicationError has the SDK's signature.
func NewNonRetryableApplicationError(message, errType string, cause error, details ...interface{}) error {
	panic("type-checking stub")
}

// IsCanceledError has the SDK's signature.
func IsCanceledError(err error) bool {
	panic("type-checking stub")
}

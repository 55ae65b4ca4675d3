// Package log mirrors go.temporal.io/sdk/log's Logger interface.
package log

// Logger is the logger workflows get from workflow.GetLogger.
type Logger interface {
	Debug(msg string, keyvals ...interface{})
	Info(msg string, keyvals ...interface{})
	Warn(msg string, keyvals ...interface{})
	Error(msg string, keyvals ...interface{})
}

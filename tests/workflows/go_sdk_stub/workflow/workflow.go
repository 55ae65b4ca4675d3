// Package workflow mirrors the parts of go.temporal.io/sdk/workflow that generated code uses.
package workflow

import (
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
)

// Context is the workflow context.
type Context interface {
	Deadline() (deadline time.Time, ok bool)
	Done() Channel
	Err() error
	Value(key interface{}) interface{}
}

// CancelFunc cancels a context.
type CancelFunc func()

// Future is a value that becomes ready later.
type Future interface {
	Get(ctx Context, valuePtr interface{}) error
	IsReady() bool
}

// ChildWorkflowFuture is the future of a child workflow.
type ChildWorkflowFuture interface {
	Future
	GetChildWorkflowExecution() Future
	SignalChildWorkflow(ctx Context, signalName string, data interface{}) Future
}

// ReceiveChannel is the receiving side of a channel.
type ReceiveChannel interface {
	Name() string
	Receive(ctx Context, valuePtr interface{}) (more bool)
	ReceiveWithTimeout(ctx Context, timeout time.Duration, valuePtr interface{}) (ok, more bool)
	ReceiveAsync(valuePtr interface{}) (ok bool)
	ReceiveAsyncWithMoreFlag(valuePtr interface{}) (ok bool, more bool)
	Len() int
}

// SendChannel is the sending side of a channel.
type SendChannel interface {
	Name() string
	Send(ctx Context, v interface{})
	SendAsync(v interface{}) (ok bool)
	Close()
}

// Channel is a workflow channel.
type Channel interface {
	SendChannel
	ReceiveChannel
}

// Selector waits for one of several channels or futures.
type Selector interface {
	AddReceive(c ReceiveChannel, f func(c ReceiveChannel, more bool)) Selector
	AddSend(c SendChannel, v interface{}, f func()) Selector
	AddFuture(future Future, f func(f Future)) Selector
	AddDefault(f func())
	Select(ctx Context)
	HasPending() bool
}

// WaitGroup waits for coroutines.
type WaitGroup interface {
	Add(delta int)
	Done()
	Wait(ctx Context)
}

// ActivityOptions are the options of an activity invocation.
type ActivityOptions struct {
	TaskQueue              string
	ScheduleToCloseTimeout time.Duration
	ScheduleToStartTimeout time.Duration
	StartToCloseTimeout    time.Duration
	HeartbeatTimeout       time.Duration
	WaitForCancellation    bool
	ActivityID             string
	RetryPolicy            *temporal.RetryPolicy
	DisableEagerExecution  bool
}

// ChildWorkflowOptions are the options of a child workflow.
type ChildWorkflowOptions struct {
	Namespace                string
	WorkflowID               string
	TaskQueue                string
	WorkflowExecutionTimeout time.Duration
	WorkflowRunTimeout       time.Duration
	WorkflowTaskTimeout      time.Duration
	WaitForCancellation      bool
	RetryPolicy              *temporal.RetryPolicy
	CronSchedule             string
	Memo                     map[string]interface{}
	SearchAttributes         map[string]interface{}
}

// Execution identifies a workflow run.
type Execution struct {
	ID    string
	RunID string
}

// Info describes the running workflow.
type Info struct {
	WorkflowExecution Execution
	Namespace         string
	TaskQueueName     string
	Attempt           int32
}

func stub() { panic("type-checking stub") }

// WithActivityOptions has the SDK's signature.
func WithActivityOptions(ctx Context, options ActivityOptions) Context { stub(); return nil }

// ExecuteActivity has the SDK's signature.
func ExecuteActivity(ctx Context, activity interface{}, args ...interface{}) Future {
	stub()
	return nil
}

// WithChildOptions has the SDK's signature.
func WithChildOptions(ctx Context, cwo ChildWorkflowOptions) Context { stub(); return nil }

// ExecuteChildWorkflow has the SDK's signature.
func ExecuteChildWorkflow(ctx Context, childWorkflow interface{}, args ...interface{}) ChildWorkflowFuture {
	stub()
	return nil
}

// GetLogger has the SDK's signature.
func GetLogger(ctx Context) log.Logger { stub(); return nil }

// GetInfo has the SDK's signature.
func GetInfo(ctx Context) *Info { stub(); return nil }

// Now has the SDK's signature.
func Now(ctx Context) time.Time { stub(); return time.Time{} }

// Sleep has the SDK's signature.
func Sleep(ctx Context, d time.Duration) (err error) { stub(); return nil }

// NewTimer has the SDK's signature.
func NewTimer(ctx Context, d time.Duration) Future { stub(); return nil }

// GetSignalChannel has the SDK's signature.
func GetSignalChannel(ctx Context, signalName string) ReceiveChannel { stub(); return nil }

// NewSelector has the SDK's signature.
func NewSelector(ctx Context) Selector { stub(); return nil }

// NewChannel has the SDK's signature.
func NewChannel(ctx Context) Channel { stub(); return nil }

// NewBufferedChannel has the SDK's signature.
func NewBufferedChannel(ctx Context, size int) Channel { stub(); return nil }

// Go has the SDK's signature.
func Go(ctx Context, f func(ctx Context)) { stub() }

// NewWaitGroup has the SDK's signature.
func NewWaitGroup(ctx Context) WaitGroup { stub(); return nil }

// WithCancel has the SDK's signature.
func WithCancel(parent Context) (ctx Context, cancel CancelFunc) { stub(); return nil, nil }

// NewDisconnectedContext has the SDK's signature.
func NewDisconnectedContext(parent Context) (ctx Context, cancel CancelFunc) { stub(); return nil, nil }

// Await has the SDK's signature.
func Await(ctx Context, condition func() bool) error { stub(); return nil }

// AwaitWithTimeout has the SDK's signature.
func AwaitWithTimeout(ctx Context, timeout time.Duration, condition func() bool) (ok bool, err error) {
	stub()
	return false, nil
}

// A type-only stand-in for go.temporal.io/sdk: the parts of its API that generated
// workflows use, with the real signatures, so the tests can type-check generated code
// offline. Nothing here runs.
module go.temporal.io/sdk

go 1.19

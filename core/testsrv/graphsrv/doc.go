// Package graphsrv starts the Microsoft Graph emulator (core/graphemu) for
// tests: Start fails the test when it cannot listen and stops the server
// when the test ends. The emulator's types and constants are re-exported
// under their names, so tests read graphsrv.Options, graphsrv.App and so
// on. The package is named graphsrv so that it does not clash with the
// client package core/dest/graph.
package graphsrv

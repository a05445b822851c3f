// Package mailbox holds the types that flow from a source through the
// engine to a destination (folders, message metadata, message bodies and
// their identity keys) and the two small interfaces the engine drives:
// Source and Destination. Protocol packages implement them; the engine
// only sees these.
package mailbox

// Package stats aggregates a project's migration journal (core/store's
// Journal) into statistics per project and per user — items and bytes
// migrated, skipped (already at the destination) and failed, by pass,
// durations, MB/h, sizes per folder — and renders them as CSV and as a
// self-contained HTML report (inline SVG charts, no external assets).
//
// Migrated and skipped counts add up over passes (each item is counted by
// the pass that wrote it); failed counts are the items failing now (an item
// that failed and was written by a later pass is no longer counted), with
// the per-pass failure counts kept in PassStats.
package stats

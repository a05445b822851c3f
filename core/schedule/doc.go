// Package schedule is "start at a chosen time" for both faces: Parse
// reads the time an admin types (HH:MM, the next such local time, or an
// RFC 3339 date-time) and Wait blocks until then or until ctx ends. The
// GUI's Start at… dialog and `mailferry migrate --at` both use it, then
// start the pass as if the admin had clicked Start at that moment.
package schedule

// Package project holds MailFerry's plain data types: a Project with its
// source and destination Endpoints, its Users and its Options, the user
// Status values, and the validation rules for each. It has no I/O.
package project

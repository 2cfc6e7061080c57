"""Readers of the mailbox providers' reputation feeds: Microsoft SNDS, Google Postmaster Tools, Validity Sender Score."""

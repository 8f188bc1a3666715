//! Importing chat history from other messengers. Only WhatsApp's "Export chat" files so far.

pub mod whatsapp;

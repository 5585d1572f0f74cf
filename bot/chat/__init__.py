"""The conversation around a comparison, once for every platform.

`ChatService.compare(command, surface)` runs a `/compare` from admission to the last edit;
`VoteService.on_reaction(event)` turns a reaction into a logged vote and reveals blind names.
An adapter parses its platform's input into a `ChatCommand` and implements `ChatSurface`
(and `RevealAnnouncer`): how things look and where they go, never what happens.
"""

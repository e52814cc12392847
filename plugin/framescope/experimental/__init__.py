"""Experimental APIs: usable and tested, but their shape may still change between releases.

``framescope.experimental.conversational`` holds conversational flows (docs/contract.md C9):
``ConversationConfig``, ``ConversationState``, the typed base ``ConversationalFlow`` and
``flow.stream_turn(...)``.
"""

"""Experimental APIs: usable and tested, but their shape may still change between releases.

``framescope.experimental.conversational`` holds conversational flows (contract point C9):
``ConversationConfig``, ``ConversationState`` and ``flow.stream_turn(...)``.
"""

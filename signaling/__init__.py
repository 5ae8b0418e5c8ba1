"""During the call: the signalling protocol, rooms, the bus between instances, ICE servers.

Transport-free and independent of the rest of the project: the app hands the ``Hub`` an
authorizer (token → ``Grant``), an event sink and an ICE-server builder, and wraps each WebSocket
in a ``Connection``. See ``signaling.rooms`` for the rules and the endpoint wiring.
"""

from signaling.bus import Bus, MemoryBroker, MemoryBus, RedisBus
from signaling.errors import CloseCode, ProtocolError
from signaling.grants import Authorizer, Event, EventSink, Grant, IceServers, Role
from signaling.redis_store import RedisRoomStore
from signaling.rooms import Hub
from signaling.session import Connection, Limits, Session
from signaling.store import MemoryRoomStore, RoomSnapshot, RoomStore
from signaling.turn import IceConfig, TurnCredentials, ice_servers, turn_credentials

__all__ = [
    "Authorizer",
    "Bus",
    "CloseCode",
    "Connection",
    "Event",
    "EventSink",
    "Grant",
    "Hub",
    "IceConfig",
    "IceServers",
    "Limits",
    "MemoryBroker",
    "MemoryBus",
    "MemoryRoomStore",
    "ProtocolError",
    "RedisBus",
    "RedisRoomStore",
    "Role",
    "RoomSnapshot",
    "RoomStore",
    "Session",
    "TurnCredentials",
    "ice_servers",
    "turn_credentials",
]

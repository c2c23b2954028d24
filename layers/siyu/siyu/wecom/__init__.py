"""WeCom (企业微信): the corp connection, its API client, callbacks, contact ways and join ways,
welcome messages, tags, and the contacts and group members they bring."""

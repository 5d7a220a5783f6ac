"""The intake web site for victims and relatives: server-rendered, works without JavaScript."""

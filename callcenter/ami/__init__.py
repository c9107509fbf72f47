"""The link to Asterisk's Manager Interface (AMI), built on panoramisk."""

from callcenter.ami.link import AmiError, AmiLink, AmiTimeout, AmiUnavailable, LinkState

__all__ = ["AmiError", "AmiLink", "AmiTimeout", "AmiUnavailable", "LinkState"]

<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows an RSS or Atom feed of the status page as a readable page when a browser opens it
     (feed readers ignore this stylesheet). Its words follow the feed's own language. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:content="http://purl.org/rss/1.0/modules/content/"
    exclude-result-prefixes="atom content">
  <xsl:output method="html" encoding="UTF-8" doctype-system="about:legacy-compat"/>

  <xsl:variable name="language" select="string((/rss/channel/language | /atom:feed/@xml:lang)[1])"/>
  <xsl:variable name="chinese" select="starts-with($language, 'zh')"/>
  <xsl:variable name="title" select="string((/rss/channel/title | /atom:feed/atom:title)[1])"/>
  <xsl:variable name="home" select="string((/rss/channel/link | /atom:feed/atom:link[@rel='alternate']/@href)[1])"/>

  <xsl:template match="/">
    <html lang="{$language}">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/></title>
        <link rel="stylesheet" href="/static/site.css"/>
      </head>
      <body>
        <main id="main" class="wrap">
          <h1><xsl:value-of select="$title"/></h1>
          <p class="note feed-note">
            <xsl:choose>
              <xsl:when test="$chinese">这是一个订阅源：把本页地址复制到您的 RSS 阅读器，即可收到每次更新。</xsl:when>
              <xsl:otherwise>This is a feed: copy this page's address into your feed reader to get every update.</xsl:otherwise>
            </xsl:choose>
          </p>
          <p><a href="{$home}">
            <xsl:choose>
              <xsl:when test="$chinese">← 返回状态页</xsl:when>
              <xsl:otherwise>← Back to the status page</xsl:otherwise>
            </xsl:choose>
          </a></p>
          <ol class="timeline">
            <xsl:apply-templates select="/rss/channel/item | /atom:feed/atom:entry"/>
          </ol>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <h2><a href="{link}"><xsl:value-of select="title"/></a></h2>
      <p class="meta"><xsl:value-of select="pubDate"/></p>
      <div class="body"><xsl:value-of select="(content:encoded | description)[1]" disable-output-escaping="yes"/></div>
    </li>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <h2><a href="{atom:link/@href}"><xsl:value-of select="atom:title"/></a></h2>
      <p class="meta"><xsl:value-of select="atom:published"/></p>
      <div class="body"><xsl:value-of select="atom:content" disable-output-escaping="yes"/></div>
    </li>
  </xsl:template>
</xsl:stylesheet>
